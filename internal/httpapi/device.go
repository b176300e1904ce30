package httpapi

import (
	"net/http"
	"strings"

	"github.com/siyu-commerce/siyu/internal/bargain"
	"github.com/siyu-commerce/siyu/internal/errs"
)

// deviceHeader names the device a request comes from: the mini program's
// own id for the install. A bargain help must send it (the help rules count
// helps per device); a share visit and an invite-code binding may, and
// distribution counts the downlines bound from one device.
const deviceHeader = "X-Device-Id"

// errDeviceID: the header is there but cannot be a device id.
var errDeviceID = errs.Field(deviceHeader, "invalid_device_id",
	"X-Device-Id must be 1 to %d printable ASCII characters", bargain.MaxDeviceID)

// deviceID reads the device header, trimmed: "" when it is absent or blank,
// errDeviceID when it is not a device id. One rule for every endpoint
// (bargain.ValidDeviceID): a client sends the same header everywhere, so
// a device one endpoint accepts is never refused by another.
func deviceID(r *http.Request) (string, error) {
	d := strings.TrimSpace(r.Header.Get(deviceHeader))
	if d != "" && !bargain.ValidDeviceID(d) {
		return "", errDeviceID
	}
	return d, nil
}
