// Package bargain owns bargains (砍价). SKELETON: filled in by the bargain
// work.
package bargain

// Store keeps bargain activities, bargains and helps.
type Store interface{}

// Service runs the bargain rules.
type Service struct{}
