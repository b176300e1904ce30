package flashsale_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/siyu-commerce/siyu/internal/flashsale"
	"github.com/siyu-commerce/siyu/internal/store/postgres/pgtest"
)

// TestPGDesignsSellExactly keeps the benchmark honest: the two PostgreSQL
// designs it measures the Reservers against are correct too (300 buyers,
// some asking twice, on 50 units with a limit of 2), only slower.
func TestPGDesignsSellExactly(t *testing.T) {
	ctx := context.Background()
	db, err := pgxpool.New(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ctx, pgSchema); err != nil {
		t.Fatal(err)
	}
	designs := map[string]func(s, buyer string) (flashsale.Outcome, error){
		"pg-forupdate": func(s, buyer string) (flashsale.Outcome, error) { return pgForUpdate(ctx, db, s, "sku", buyer, 1) },
		"pg-atomic":    func(s, buyer string) (flashsale.Outcome, error) { return pgAtomic(ctx, db, s, "sku", buyer, 1, 2) },
	}
	for name, reserve := range designs {
		t.Run(name, func(t *testing.T) {
			s := name
			if _, err := db.Exec(ctx, `INSERT INTO bench_flash_stock VALUES ($1, 'sku', 50, 2)`, s); err != nil {
				t.Fatal(err)
			}
			var (
				mu  sync.Mutex
				won = map[string]int{}
				wg  sync.WaitGroup
			)
			for i := range 300 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buyer := fmt.Sprintf("b%d", i%200) // a third of the buyers ask twice
					o, err := reserve(s, buyer)
					if err != nil {
						t.Error(err)
						return
					}
					if o == flashsale.Won {
						mu.Lock()
						won[buyer]++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			total := 0
			for b, n := range won {
				total += n
				if n > 2 {
					t.Errorf("%s won %d", b, n)
				}
			}
			if total != 50 {
				t.Fatalf("%d units won of 50", total)
			}
		})
	}
}
