package share

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/order"
	"github.com/siyu-commerce/siyu/internal/platform/clock"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// Orders is what attribution reads of the order capability.
type Orders interface {
	Order(ctx context.Context, id string) (*order.Order, error)
	Orders(ctx context.Context, f order.ListFilter) (order.Page, error)
}

// Target is what the check of a share's target learns.
type Target struct {
	// Shareable: the target exists and may be shared now (a product on
	// sale, a team that can still be joined, an open bargain).
	Shareable bool
	// ActivityID is the activity the target belongs to (a team's group
	// buy, a bargain's activity), "" when it belongs to none or to several
	// (a product). When set, the share records it whatever the request
	// said: the per-activity numbers (the K-factor above all) cannot be
	// steered by a client.
	ActivityID string
}

// TargetExists checks a target before it is shared.
type TargetExists func(ctx context.Context, kind TargetKind, id string) (Target, error)

// Service makes shares, records visits and credits paid orders.
type Service struct {
	Store  Store
	Orders Orders
	Signer *Signer
	Clock  clock.Clock
	// Exists checks a target before it is shared; nil accepts any id.
	Exists TargetExists
	// Window is how long after a visit an order is credited; default
	// DefaultWindow.
	Window time.Duration
}

// NewShare is a request to share a target, parsed.
type NewShare struct {
	TargetKind  TargetKind
	TargetID    string
	ActivityID  string
	ParentToken string // the link the sharer arrived through, if any
}

// Made is a new share and its link.
type Made struct {
	Share Share  `json:"-"`
	Token string `json:"token"`
}

// Create records a share by sharerID and signs its token. The parent
// link counts only when it shares the same target, the sharer opened it,
// and someone else made it: a buyer cannot graft themselves onto a chain
// they never came through, nor lengthen their own.
func (s *Service) Create(ctx context.Context, sharerID string, in NewShare) (Made, error) {
	if s.Exists != nil {
		t, err := s.Exists(ctx, in.TargetKind, in.TargetID)
		if err != nil {
			return Made{}, err
		}
		if !t.Shareable {
			return Made{}, ErrTargetAbsent
		}
		if t.ActivityID != "" {
			in.ActivityID = t.ActivityID
		}
	}
	// Milliseconds: the token carries the time at that precision, and the
	// row and the token must agree.
	now := s.Clock.Now().UTC().Truncate(time.Millisecond)
	sh := Share{
		ID: ids.New(), SharerID: sharerID, TargetKind: in.TargetKind, TargetID: in.TargetID,
		ActivityID: in.ActivityID, Depth: 1, CreatedAt: now,
	}
	if in.ParentToken != "" {
		parent, err := s.Signer.Verify(in.ParentToken)
		if err != nil {
			return Made{}, ErrParentInvalid
		}
		if parent.TargetKind == in.TargetKind && parent.TargetID == in.TargetID && parent.SharerID != sharerID {
			visited, err := s.Store.ShareVisited(ctx, sharerID, parent.ID)
			if err != nil {
				return Made{}, err
			}
			if visited {
				if parent.Depth >= MaxDepth {
					return Made{}, ErrDepthExceeded
				}
				sh.Depth, sh.ParentID = parent.Depth+1, parent.ID
				if sh.ActivityID == "" {
					sh.ActivityID = parent.ActivityID
				}
			}
		}
	}
	tok, err := s.Signer.Sign(&sh)
	if err != nil {
		return Made{}, err
	}
	if err := s.Store.CreateShare(ctx, &sh); err != nil {
		return Made{}, err
	}
	return Made{Share: sh, Token: tok}, nil
}

// Opened is what a visitor learns of the link they opened: where it
// leads, not who sent it.
type Opened struct {
	Visit Visit
	Share Share
}

// Visit records that visitorID opened the link tok from scene, on deviceID
// ("" when the client named none). A visit of
// one's own link is recorded (the funnel counts it as activity) and marked
// own, so it never earns a credit. Opening the same link from the same
// entry again within RepeatWindow, with no other link opened in between,
// returns the first visit; more than
// MaxVisitsPerHour visits an hour are refused (ErrTooManyVisits).
func (s *Service) Visit(ctx context.Context, visitorID, tok string, scene Scene, deviceID string) (Opened, error) {
	claimed, err := s.Signer.Verify(tok)
	if err != nil {
		return Opened{}, err
	}
	return s.visit(ctx, visitorID, claimed.ID, scene, deviceID)
}

// VisitQR records a visit through a mini-program code. WeChat gives such a
// code a scene of at most 32 characters, too short for a token, so the code
// carries QRScene(share id) instead: 74 random bits of a UUIDv7 that only
// the share's row can confirm, as unguessable as a token's MAC is
// unforgeable for this purpose (a visit credits nothing by itself).
func (s *Service) VisitQR(ctx context.Context, visitorID, qrScene string, scene Scene, deviceID string) (Opened, error) {
	id, ok := shareIDFromQR(qrScene)
	if !ok {
		return Opened{}, ErrTokenInvalid
	}
	return s.visit(ctx, visitorID, id, scene, deviceID)
}

// QRScene is the scene string of a share's mini-program code: its id
// without dashes, exactly the 32 characters WeChat allows.
func QRScene(shareID string) string { return strings.ReplaceAll(shareID, "-", "") }

func shareIDFromQR(s string) (string, bool) {
	if len(s) != 32 {
		return "", false
	}
	id := s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
	return id, ids.Valid(id)
}

func (s *Service) visit(ctx context.Context, visitorID, shareID string, scene Scene, deviceID string) (Opened, error) {
	// The row, not the link, is the record: a valid token whose row is
	// gone (a restored backup) credits nothing.
	sh, err := s.Store.ShareByID(ctx, shareID)
	if err != nil {
		if errs.Is(err, ErrNotFound.Code) {
			return Opened{}, ErrTokenInvalid
		}
		return Opened{}, err
	}
	now := s.Clock.Now().UTC()
	recent, err := s.Store.ShareVisitsSince(ctx, visitorID, now.Add(-time.Hour), MaxVisitsPerHour)
	if err != nil {
		return Opened{}, err
	}
	// Only a repeat of the visitor's latest visit is the same visit:
	// opening another link in between makes this one the last touch again.
	if len(recent) > 0 {
		if r := recent[0]; r.ShareID == sh.ID && r.Scene == scene && now.Sub(r.At) < RepeatWindow {
			return Opened{Visit: r, Share: *sh}, nil
		}
	}
	if len(recent) >= MaxVisitsPerHour {
		return Opened{}, ErrTooManyVisits
	}
	v := Visit{ID: ids.New(), ShareID: sh.ID, VisitorID: visitorID, DeviceID: deviceID, Scene: scene,
		Own: visitorID == sh.SharerID, At: now}
	if err := s.Store.AddShareVisit(ctx, &v); err != nil {
		return Opened{}, err
	}
	return Opened{Visit: v, Share: *sh}, nil
}

func (s *Service) window() time.Duration {
	if s.Window > 0 {
		return s.Window
	}
	return DefaultWindow
}

// matches reports whether a share may take the credit for o: a product
// share only for an order holding that product; a team, bargain or
// promoter page leads to the whole shop.
func matches(sh Share, o *order.Order) bool {
	if sh.TargetKind != Product {
		return true
	}
	return slices.ContainsFunc(o.Lines, func(l order.Line) bool { return l.ProductID == sh.TargetID })
}
