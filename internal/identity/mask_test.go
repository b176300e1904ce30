package identity

import "testing"

func TestMaskPhone(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"13812345678", "138******78"},
		{"19900000001", "199******01"},
		{"+8613812345678", "+86*********78"}, // never stored so, still masked
		{"12345678", "********"},             // too short to show 3+2 of it
		{"1", "*"},
		{"", ""},
	} {
		if got := MaskPhone(tc.in); got != tc.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"张三", "张*"},
		{"张三丰", "张**"},
		{"欧阳娜娜", "欧阳**"},
		{"欧阳锋", "欧阳*"},
		{"欧阳", "欧*"}, // a name that is only a compound surname still hides one
		{"司马相如", "司马**"},
		{"李", "*"},
		{"John Smith", "J*********"},
		{"", ""},
	} {
		if got := MaskName(tc.in); got != tc.want {
			t.Errorf("MaskName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMaskDetail(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"建国路88号华贸中心1号楼2单元301", "建国路****"},
		{"幸福小区三栋二单元502室", "幸福小区****"},    // Chinese numerals are numbers too
		{"中关村南大街甲12号院3号楼", "中关村南大街****"}, // at most 6 kept
		{"中关村南大街甲12号院", "中关村南大****"},     // at most half kept
		{"中关村大街", "中关****"},              // no number: half still hidden
		{"88号", "****"},
		{"１２号楼", "****"}, // full-width digits
		{"a", "****"},
		{"", ""},
	} {
		if got := MaskDetail(tc.in); got != tc.want {
			t.Errorf("MaskDetail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAddressMasked(t *testing.T) {
	a := Address{ID: "id", BuyerID: "b", Name: "王小明", Phone: "13812345678", Province: "上海市",
		City: "上海市", District: "浦东新区", Detail: "世纪大道100号", IsDefault: true}
	got := a.Masked()
	want := a
	want.Name, want.Phone, want.Detail = "王**", "138******78", "世纪大道****"
	if got != want {
		t.Fatalf("Masked() = %+v\nwant       %+v", got, want)
	}
	if a.Phone != "13812345678" {
		t.Fatal("Masked changed the original")
	}
}
