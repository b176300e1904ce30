package httpapi

import (
	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
)

// maskShipTo is what an operator sees of where an order goes, by identity's
// masking rules (DOMAIN.md, Compliance lines): the area stays, the person
// and the house do not.
func maskShipTo(s order.ShipTo) order.ShipTo {
	s.Name = identity.MaskName(s.Name)
	s.Phone = identity.MaskPhone(s.Phone)
	s.Detail = identity.MaskDetail(s.Detail)
	return s
}
