// Package groupbuy owns group buys (拼团). SKELETON: filled in by the group
// buy work.
package groupbuy

// Store keeps group buy activities, teams and seats.
type Store interface{}

// Service runs the group buy rules.
type Service struct{}
