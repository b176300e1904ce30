package cursor_test

import (
	"testing"

	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/store/cursor"
)

func TestRoundTrip(t *testing.T) {
	id := ids.New()
	for _, key := range []int64{0, -1, 1 << 62, 1767225600000000} {
		c := cursor.Encode("newest", key, id)
		k, gotID, err := cursor.Decode("newest", c)
		if err != nil || k != key || gotID != id {
			t.Errorf("Decode(Encode(%d)) = %d, %q, %v", key, k, gotID, err)
		}
	}
}

func TestRefused(t *testing.T) {
	id := ids.New()
	cases := map[string]string{
		"not base64":     "!!!",
		"empty":          "",
		"other ordering": cursor.Encode("price_asc", 1, id),
		"id not a uuid":  cursor.Encode("newest", 1, "1 OR 1=1"),
		"key not int":    "bmV3ZXN0fHh8MDE5MGYwZjAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAx", // newest|x|<uuid>
		"too many parts": cursor.Encode("newest", 1, id+"|x"),
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, err := cursor.Decode("newest", c); err != cursor.ErrBad {
				t.Fatalf("Decode(%q) err = %v, want ErrBad", c, err)
			}
		})
	}
}

func TestPage(t *testing.T) {
	id := ids.New()
	key := func(n *int) (int64, string) { return int64(*n), id }
	rows, next := cursor.Page("t", []int{1, 2, 3}, 3, key)
	if len(rows) != 3 || next != "" {
		t.Fatalf("a full last page: %v, %q", rows, next)
	}
	rows, next = cursor.Page("t", []int{1, 2, 3, 4}, 3, key)
	if len(rows) != 3 || next == "" {
		t.Fatalf("one row past the page: %v, %q", rows, next)
	}
	if k, _, err := cursor.Decode("t", next); err != nil || k != 3 {
		t.Fatalf("the cursor is after row 3: %d, %v", k, err)
	}
}
