package app

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"

	"github.com/siyu-commerce/siyu/internal/identity"
	"github.com/siyu-commerce/siyu/internal/order"
)

// addressBook hands a buyer's address to the order service as its ship-to,
// so neither domain imports the other.
type addressBook struct{ id *identity.Service }

func (b addressBook) ShipTo(ctx context.Context, buyerID, addressID string) (order.ShipTo, error) {
	a, err := b.id.ShipTo(ctx, buyerID, addressID)
	if err != nil {
		return order.ShipTo{}, err
	}
	return order.ShipTo{Name: a.Name, Phone: a.Phone, Province: a.Province, City: a.City, District: a.District, Detail: a.Detail}, nil
}

// NewLogger returns a JSON logger at the named level.
func NewLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func listen(ctx context.Context, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}
