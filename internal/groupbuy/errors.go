package groupbuy

import (
	"errors"

	"github.com/siyu-commerce/siyu/internal/errs"
)

var (
	ErrNotFound     = errs.E(errs.NotFound, "group_buy_not_found", "no such group buy")
	ErrTeamNotFound = errs.E(errs.NotFound, "team_not_found", "no such team")
	ErrSeatNotFound = errs.E(errs.NotFound, "seat_not_found", "no seat is paid for by this order")
	ErrBadCursor    = errs.Field("cursor", "invalid_cursor", "the cursor is not one this listing returned")

	// ErrNotDraft: only a draft may be edited or published.
	ErrNotDraft = errs.E(errs.Conflict, "group_buy_not_draft", "only a draft group buy can be changed or published")
	// ErrNotLive: teams open only while the activity is published and
	// between its start and its end.
	ErrNotLive = errs.E(errs.Conflict, "activity_not_live", "the group buy is not running now: no team can be opened")
	// ErrSKUNotInActivity: the SKU is not one of the activity's items.
	ErrSKUNotInActivity = errs.Field("sku_id", "sku_not_in_activity", "this SKU is not part of the group buy")

	// ErrTeamFull: every seat is taken. The buyer can still open a team
	// of their own.
	ErrTeamFull = errs.E(errs.Conflict, "team_full", "the team is full; open a team of your own to buy at the group price")
	// ErrTeamClosed: the team has its result, or its time ran out.
	ErrTeamClosed = errs.E(errs.Conflict, "team_closed", "the team has closed; open a team of your own to buy at the group price")
	// ErrTeamNotOpen: the leader has not paid yet, so the team cannot be
	// joined.
	ErrTeamNotOpen = errs.E(errs.Conflict, "team_not_open", "the team opens once its leader has paid; try again shortly")
	// ErrAlreadyInTeam: a buyer holds at most one live seat per team.
	ErrAlreadyInTeam = errs.E(errs.Conflict, "already_in_team", "you are in this team already")
	// ErrBuyerLimit: the buyer's units over the activity would pass its
	// per-buyer limit.
	ErrBuyerLimit = errs.E(errs.Conflict, "buyer_limit_reached", "you have reached this group buy's limit per buyer")
	// ErrQuotaExhausted: the activity's units of the SKU are all taken.
	ErrQuotaExhausted = errs.E(errs.Conflict, "quota_exhausted", "the group buy's units of this item are all taken")
	// ErrTeamBusy: the team kept changing while the buyer joined (each
	// try found its size, and so its price, moved). Rare; trying again works.
	ErrTeamBusy = errs.E(errs.Conflict, "team_busy", "the team changed while you joined; try again")
)

// ErrSizeMoved is a store's answer to a join whose seat would have made a
// team size outside the join's range: the seat's price is no longer the
// price its order was made at. The service prices the join again.
var ErrSizeMoved = errors.New("groupbuy: the team's size moved past the join's price tier")

// ErrNoop is returned by an UpdateTeam closure that has nothing to change.
var ErrNoop = errors.New("groupbuy: nothing to change")
