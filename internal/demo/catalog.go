// Package demo seeds the demo shop that `siyu demo` runs: a few categories,
// a dozen products with SKUs and stock, and one owner account. Seeding is
// idempotent: a second run finds the shop seeded and changes nothing.
package demo

import "github.com/siyu-commerce/siyu/internal/money"

type sku struct {
	specs     [][2]string // name, value
	list      money.Fen
	sale      money.Fen
	stock     int64
	tmallDiff money.Fen // price on another marketplace, minus ours (for the parity check)
}

type product struct {
	title, subtitle string
	image           string
	skus            []sku
}

type category struct {
	name     string
	products []product
}

// The demo catalogue: a small tea-and-lifestyle brand, prices in fen.
var catalogue = []category{
	{"茶饮 Tea", []product{
		{"龙井明前茶 West Lake Longjing", "明前头采 · first spring pick", "https://img.example.com/longjing.jpg", []sku{
			{[][2]string{{"规格", "50g"}}, 12800, 9900, 120, 1000},
			{[][2]string{{"规格", "100g"}}, 23800, 18800, 80, 0},
		}},
		{"白桃乌龙冷泡茶 Peach Oolong Cold Brew", "12 袋装 · 12 bags", "https://img.example.com/peach-oolong.jpg", []sku{
			{[][2]string{{"口味", "白桃"}}, 5900, 3990, 300, 500},
			{[][2]string{{"口味", "蜜桃"}}, 5900, 3990, 260, 0},
		}},
		{"玫瑰普洱 Rose Pu'er", "", "https://img.example.com/rose-puer.jpg", []sku{
			{[][2]string{{"规格", "罐装 tin"}}, 8800, 6800, 90, 0},
		}},
	}},
	{"茶器 Teaware", []product{
		{"便携旅行茶具 Travel Tea Set", "一壶三杯 · pot and three cups", "https://img.example.com/travel-set.jpg", []sku{
			{[][2]string{{"颜色", "月白"}}, 19900, 15900, 40, 0},
			{[][2]string{{"颜色", "青灰"}}, 19900, 15900, 35, 4000},
		}},
		{"玻璃公道杯 Glass Pitcher", "", "https://img.example.com/pitcher.jpg", []sku{
			{[][2]string{{"容量", "250ml"}}, 4900, 3900, 150, 0},
			{[][2]string{{"容量", "400ml"}}, 5900, 4900, 110, 0},
		}},
		{"陶瓷保温杯 Ceramic Tumbler", "", "https://img.example.com/tumbler.jpg", []sku{
			{[][2]string{{"颜色", "白"}, {"容量", "350ml"}}, 12900, 9900, 60, 0},
			{[][2]string{{"颜色", "白"}, {"容量", "500ml"}}, 14900, 11900, 50, 0},
			{[][2]string{{"颜色", "黑"}, {"容量", "350ml"}}, 12900, 9900, 55, 0},
			{[][2]string{{"颜色", "黑"}, {"容量", "500ml"}}, 14900, 11900, 45, 0},
		}},
	}},
	{"零食 Snacks", []product{
		{"桂花糕 Osmanthus Cake", "6 枚 · six pieces", "https://img.example.com/osmanthus.jpg", []sku{
			{[][2]string{{"规格", "6枚"}}, 3900, 2990, 200, 0},
		}},
		{"抹茶曲奇 Matcha Cookies", "", "https://img.example.com/matcha-cookies.jpg", []sku{
			{[][2]string{{"规格", "盒装 box"}}, 4500, 3500, 180, 0},
		}},
		{"坚果礼盒 Nut Gift Box", "送礼 · for gifts", "https://img.example.com/nuts.jpg", []sku{
			{[][2]string{{"规格", "标准"}}, 16800, 12800, 70, 0},
			{[][2]string{{"规格", "豪华"}}, 26800, 19800, 30, 0},
		}},
	}},
	{"家居 Home", []product{
		{"茶香香薰蜡烛 Tea Scented Candle", "", "https://img.example.com/candle.jpg", []sku{
			{[][2]string{{"香型", "白茶"}}, 9900, 7900, 90, 0},
			{[][2]string{{"香型", "红茶"}}, 9900, 7900, 85, 0},
		}},
		{"亚麻茶席 Linen Tea Mat", "", "https://img.example.com/tea-mat.jpg", []sku{
			{[][2]string{{"尺寸", "30x120cm"}}, 6900, 5900, 100, 0},
		}},
		{"竹制茶盘 Bamboo Tea Tray", "", "https://img.example.com/tray.jpg", []sku{
			{[][2]string{{"尺寸", "小 S"}}, 15900, 12900, 25, 0},
			{[][2]string{{"尺寸", "大 L"}}, 22900, 18900, 3, 0},
		}},
	}},
}
