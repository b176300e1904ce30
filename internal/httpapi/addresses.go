package httpapi

import (
	"net/http"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/platform/ids"
)

// addressRequest is the body of POST and PUT /api/v1/addresses. Its fields
// are checked by identity, which owns what a valid address is.
type addressRequest struct {
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Province  string `json:"province"`
	City      string `json:"city"`
	District  string `json:"district"`
	Detail    string `json:"detail"`
	IsDefault bool   `json:"is_default"`
}

func (req addressRequest) toInput() identity.AddressInput {
	return identity.AddressInput{Name: req.Name, Phone: req.Phone, Province: req.Province, City: req.City,
		District: req.District, Detail: req.Detail, IsDefault: req.IsDefault}
}

type addressList struct {
	Items []identity.Address `json:"items"`
}

// addressID returns the {id} of the path; a malformed one names no address.
func addressID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !ids.Valid(id) {
		return "", identity.ErrAddressNotFound
	}
	return id, nil
}

func (a *api) listAddresses(w http.ResponseWriter, r *http.Request, buyerID string) {
	as, err := a.d.Identity.Addresses(r.Context(), buyerID)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if as == nil {
		as = []identity.Address{}
	}
	writeJSON(w, r, http.StatusOK, addressList{Items: as})
}

func (a *api) createAddress(w http.ResponseWriter, r *http.Request, buyerID string) {
	var req addressRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ad, err := a.d.Identity.CreateAddress(r.Context(), buyerID, req.toInput())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusCreated, ad)
}

func (a *api) getAddress(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := addressID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	ad, err := a.d.Identity.Address(r.Context(), buyerID, id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, ad)
}

func (a *api) updateAddress(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := addressID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	var req addressRequest
	if err := decode(r, &req); err != nil {
		writeError(w, r, err)
		return
	}
	ad, err := a.d.Identity.UpdateAddress(r.Context(), buyerID, id, req.toInput())
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, r, http.StatusOK, ad)
}

func (a *api) deleteAddress(w http.ResponseWriter, r *http.Request, buyerID string) {
	id, err := addressID(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if err := a.d.Identity.DeleteAddress(r.Context(), buyerID, id); err != nil {
		writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
