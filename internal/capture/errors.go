package capture

import "errors"

var (
	ErrNoCall        = errors.New("capture: no such call, or its route takes no captures")
	ErrBusy          = errors.New("capture: a capture is already open on this call")
	ErrNoCapture     = errors.New("capture: no such capture")
	ErrCallEnded     = errors.New("capture: the call has ended")
	ErrBadFields     = errors.New("capture: bad field list")
	ErrNotCollecting = errors.New("capture: the capture has ended")
)
