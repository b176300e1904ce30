package points

import "github.com/siyu-commerce/siyu/internal/errs"

// The points errors a client sees.
var (
	ErrInsufficient = &errs.Error{Kind: errs.Conflict, Code: "points_insufficient", Field: "points", Message: "you do not hold that many points"}
	ErrSignedIn     = errs.E(errs.Conflict, "points_signed_in", "you signed in today already")
	ErrSignInOff    = errs.E(errs.Conflict, "points_sign_in_off", "sign-in points are turned off")
	ErrGranted      = errs.E(errs.Conflict, "points_granted", "points were granted with this key already")
)
