// Package coupon owns coupons. SKELETON: filled in by the coupon work.
package coupon

// Store keeps coupon templates and buyers' coupons.
type Store interface{}

// Service runs the coupon rules.
type Service struct{}
