package httpapi

import (
	"net/http"
	"slices"

	"github.com/siyu-commerce/siyu/internal/errs"
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
	"github.com/siyu-commerce/siyu/internal/share"
)

// shareRoles may read the fission numbers: they run the activities.
var shareRoles = []identity.Role{identity.Operator}

// maxTokenLen bounds a token field well above a real token's 166
// characters, so a huge string is refused before it is decoded.
const maxTokenLen = 512

// shareRequest is the body of POST /api/v1/shares.
type shareRequest struct {
	TargetKind  string `json:"target_kind"`
	TargetID    string `json:"target_id"`
	ActivityID  string `json:"activity_id"`
	ParentToken string `json:"parent_token"`
}

func (req shareRequest) toNewShare() (share.NewShare, error) {
	var l errs.List
	kind := share.TargetKind(req.TargetKind)
	if !slices.Contains(share.TargetKinds, kind) {
		l.Add("target_kind", "invalid_target_kind", "target_kind must be one of %v", share.TargetKinds)
	}
	if !ids.Valid(req.TargetID) {
		l.Add("target_id", "invalid_id", "target_id must be an id")
	}
	if req.ActivityID != "" && !ids.Valid(req.ActivityID) {
		l.Add("activity_id", "invalid_id", "activity_id must be an id")
	}
	if len(req.ParentToken) > maxTokenLen {
		l.Add("parent_token", "share_token_invalid", "the share link is not valid")
	}
	return share.NewShare{TargetKind: kind, TargetID: req.TargetID, ActivityID: req.ActivityID,
		ParentToken: req.ParentToken}, l.Err()
}

// shareMade is the answer to POST /api/v1/shares. url_path is the
// storefront path that opens the link; the mini program builds its own
// page path around the same token.
type shareMade struct {
	Token   string `json:"token"`
	ShareID string `json:"share_id"`
	URLPath string `json:"url_path"`
	Depth   int    `json:"depth"`
	// Reshareable says whether a visitor of this link may share it on:
	// false at the last level of the chain.
	Reshareable bool `json:"reshareable"`
	// Disclosure is the line the share card must show (share.Disclosure).
	Disclosure string `json:"disclosure"`
	// QRScene is the scene for the share's mini-program code, whose 32
	// characters cannot hold the token.
	QRScene string `json:"qr_scene"`
}

func (a *api) createShare(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req shareRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	in, err := req.toNewShare()
	if err != nil {
		writeError(w, r, err)
		return
	}
	m, err := a.d.Shares.Create(r.Context(), buyerID, in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, shareMade{Token: m.Token, ShareID: m.Share.ID, URLPath: "/s/" + m.Token,
		Depth: m.Share.Depth, Reshareable: m.Share.Depth < share.MaxDepth, Disclosure: share.Disclosure,
		QRScene: share.QRScene(m.Share.ID)})
}

// visitRequest is the body of POST /api/v1/share-visits: the link's token,
// or the scene of a mini-program code (qr_scene), never both.
type visitRequest struct {
	Token   string `json:"token"`
	QRScene string `json:"qr_scene"`
	Scene   string `json:"scene"`
}

func (req visitRequest) toVisit() (string, share.Scene, error) {
	var l errs.List
	switch {
	case req.Token != "" && req.QRScene != "":
		l.Add("qr_scene", "share_token_invalid", "send token or qr_scene, not both")
	case req.QRScene != "":
		if len(req.QRScene) != 32 {
			l.Add("qr_scene", "share_token_invalid", "the code's scene is not valid")
		}
	case req.Token == "" || len(req.Token) > maxTokenLen:
		l.Add("token", "share_token_invalid", "the share link is not valid")
	}
	scene := share.Scene(req.Scene)
	if !slices.Contains(share.Scenes, scene) {
		l.Add("scene", "invalid_scene", "scene must be one of %v", share.Scenes)
	}
	return req.Token, scene, l.Err()
}

// visitRecorded tells the visitor where the link leads. It never names
// the sharer: a link is not a way to learn who someone is.
type visitRecorded struct {
	VisitID     string           `json:"visit_id"`
	ShareID     string           `json:"share_id"`
	TargetKind  share.TargetKind `json:"target_kind"`
	TargetID    string           `json:"target_id"`
	ActivityID  string           `json:"activity_id,omitempty"`
	Depth       int              `json:"depth"`
	Own         bool             `json:"own"`
	Reshareable bool             `json:"reshareable"`
}

func (a *api) recordShareVisit(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req visitRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	tok, scene, err := req.toVisit()
	if err != nil {
		writeError(w, r, err)
		return
	}
	device, err := deviceID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	visit := a.d.Shares.Visit
	if req.QRScene != "" {
		tok, visit = req.QRScene, a.d.Shares.VisitQR
	}
	o, err := visit(r.Context(), buyerID, tok, scene, device)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, visitRecorded{
		VisitID: o.Visit.ID, ShareID: o.Share.ID, TargetKind: o.Share.TargetKind, TargetID: o.Share.TargetID,
		ActivityID: o.Share.ActivityID, Depth: o.Share.Depth, Own: o.Visit.Own,
		Reshareable: o.Share.Depth < share.MaxDepth,
	})
}

func (a *api) shareStats(w http.ResponseWriter, r *http.Request, _ identity.Principal) {
	q := newQuery(r, "activity_id", "from", "to", "limit")
	f := share.StatsFilter{ActivityID: q.id("activity_id"), From: q.time("from"), To: q.time("to"), Limit: q.limit()}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		q.errs.Add("to", "invalid_parameter", "to must be after from")
	}
	if err := q.err(); err != nil {
		writeError(w, r, err)
		return
	}
	st, err := a.d.Shares.Stats(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, st)
}
