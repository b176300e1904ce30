package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/siyu-commerce/siyu/internal/errs"
)

// errBodyTooLarge is the answer to a body over the cap.
func errBodyTooLarge(limit int64) error {
	return errs.E(errs.TooLarge, "body_too_large", "the request body is larger than %d bytes", limit)
}

// decode reads the request's JSON body into dst, strictly: the body must be
// declared application/json, hold exactly one JSON value, and name no field
// dst does not have. Strictness is the point: a client that sends a price
// or a misspelt field learns so at once instead of having it ignored.
func decode(r *http.Request, dst any) error {
	if err := requireJSON(r); err != nil {
		return err
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	// A second value, or garbage after the first, means the client did not
	// send what it thinks it sent.
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errBodyTooLarge(mbe.Limit)
		}
		return errs.E(errs.Invalid, "malformed_json", "the body holds data after the JSON value")
	}
	return nil
}

func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type", field: "Content-Type",
		msg: "the body must be application/json (UTF-8)"}
}

func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return errBodyTooLarge(mbe.Limit)
	case errors.Is(err, io.EOF):
		return errs.E(errs.Invalid, "malformed_json", "the request body is empty; it must be a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.Invalid, "malformed_json", "the JSON body ends too soon")
	case errors.As(err, &se):
		return errs.E(errs.Invalid, "malformed_json", "the body is not valid JSON (at byte %d)", se.Offset)
	case errors.As(err, &te):
		if te.Field == "" {
			return errs.Field("body", "invalid_type", "the body must be a JSON object, not %s", te.Value)
		}
		return errs.Field(te.Field, "invalid_type", "%s must be %s, not %s", te.Field, jsonKind(te.Type.String()), te.Value)
	}
	// encoding/json reports an unknown field only by its message.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		return errs.Field(name, "unknown_field", "%q is not a field of this request", name)
	}
	return errs.E(errs.Invalid, "malformed_json", "the body could not be read as JSON")
}

// jsonKind names a Go type the way a client thinks of the JSON it sends.
func jsonKind(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"), strings.HasSuffix(goType, "Fen"):
		return "an integer"
	case goType == "string":
		return "a string"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "map"), strings.HasPrefix(goType, "struct"), strings.Contains(goType, "."):
		return "an object"
	}
	return fmt.Sprintf("of type %s", goType)
}
