// Command opener is the window opener of test/sipp/pay.sh: it watches
// tonewall's control API for new calls from the payment carrier trunks and
// opens a capture window on a share of them, spread evenly, as soon as each
// appears, the way an agent desktop would.
//
//	opener -api http://127.0.0.1:15081 -key-file KEY -share 50 -out FILE
//
// New calls are found by polling GET /v1/calls (the API has no stream of
// call starts: /v1/events carries capture events only). Each chosen call gets
// POST /v1/calls/{id}/captures, tried again while the API does not know the
// call yet. It runs until SIGTERM or SIGINT, then waits for the windows it is
// opening and exits. FILE gets one line an event, appended as it happens:
//
//	decided ID CC-CALL-ID window|open     a new call, and whether it gets a window
//	window ID CC-CALL-ID MS CAPTURE-ID    its window opened, MS after the call was created
//	refused ID CC-CALL-ID STATUS BODY     the API did not open it (the last answer)
package main

import (
	"context"
	"flag"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o opener
	var api, keyFile, out, fields string
	var every time.Duration
	flag.StringVar(&api, "api", "http://127.0.0.1:15081", "tonewall's control API")
	flag.StringVar(&keyFile, "key-file", "", "file holding a supervisor API key")
	flag.IntVar(&o.share, "share", 50, "% of new calls to open a window on (0-100)")
	flag.StringVar(&out, "out", "", "file the decisions and windows are appended to")
	flag.StringVar(&o.trunk, "trunk", "pay_carrier", "open windows on calls from trunks whose name starts with this")
	flag.DurationVar(&every, "every", 100*time.Millisecond, "how often to list the calls")
	flag.StringVar(&fields, "fields", "pan,expiry,cvv", "the fields each window asks for")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("opener: ")
	if out == "" || keyFile == "" || o.share < 0 || o.share > 100 {
		log.Fatal("want -out FILE, -key-file FILE and -share 0-100")
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		log.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	o.api = newClient(strings.TrimRight(api, "/"), strings.TrimSpace(string(key)))
	o.rec = newRecord(f)
	o.fields = strings.Split(fields, ",")
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	o.run(ctx, every)
}
