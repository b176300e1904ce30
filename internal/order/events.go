package order

// Topics of the events an order emits; every transition emits one.
const (
	TopicCreated   = "order.created"
	TopicPaid      = "order.paid"
	TopicCancelled = "order.cancelled"
	TopicClosed    = "order.closed"
	TopicShipped   = "order.shipped"
	TopicDelivered = "order.delivered"
	TopicCompleted = "order.completed"
	TopicRefunded  = "order.refunded"
	// TopicReleased: a held order may ship now (its team filled).
	TopicReleased = "order.released"
)

// Job kinds an order schedules.
const (
	JobCloseUnpaid    = "order.close_unpaid"
	JobConfirmReceipt = "order.confirm_receipt"
)

// Event is the payload of every order event: enough for a consumer to act
// without reading the order back.
type Event struct {
	OrderID string `json:"order_id"`
	BuyerID string `json:"buyer_id"`
	From    Status `json:"from,omitempty"`
	To      Status `json:"to"`
	Total   int64  `json:"total"`
	Reason  string `json:"reason,omitempty"`
	// Activity: the activity the order was placed through, so its
	// consumers need not read the order back to know whether it is theirs.
	Activity *Activity `json:"activity,omitempty"`
}

// jobPayload is the payload of the order's jobs.
type jobPayload struct {
	OrderID string `json:"order_id"`
}
