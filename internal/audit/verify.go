package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrTampered is wrapped by every VerifyError.
var ErrTampered = errors.New("audit: log does not verify")

// maxLine bounds one record; real ones are a few hundred bytes.
const maxLine = 64 << 10

// VerifyError names the first line that breaks the chain.
type VerifyError struct {
	Line   int    // 1-based line number in the file
	Reason string // what is wrong, e.g. "hash does not match the record (edited)"
}

func (e *VerifyError) Error() string { return fmt.Sprintf("audit: line %d: %s", e.Line, e.Reason) }
func (e *VerifyError) Unwrap() error { return ErrTampered }

// Verify reads a whole log and checks every record and link. n is the number
// of good records before the first bad line (all of them when err is nil).
// A chain error is a *VerifyError; an I/O error is returned as it is.
func Verify(r io.Reader) (n int, err error) {
	c := chain{prev: Genesis}
	br := bufio.NewReaderSize(r, 4096)
	for line := 1; ; line++ {
		b, err := readLine(br)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			var ve *VerifyError
			if errors.As(err, &ve) {
				ve.Line = line
			}
			return n, err
		}
		if reason := c.next(b); reason != "" {
			return n, &VerifyError{Line: line, Reason: reason}
		}
		n++
	}
}

// VerifyFile is Verify on the file at path, for `tonewall audit verify`.
func VerifyFile(path string) (n int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return Verify(f)
}

// readLine returns one line without its newline. A last line with no newline
// is a cut record; so is an overlong one.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxLine {
			return nil, &VerifyError{Reason: fmt.Sprintf("longer than %d bytes", maxLine)}
		}
		switch {
		case err == nil:
			return line[:len(line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(line) == 0:
			return nil, io.EOF
		case err == io.EOF:
			return nil, &VerifyError{Reason: "incomplete record at end of file (cut or torn write)"}
		default:
			return nil, err
		}
	}
}

// chain is the verifier's state: what the next record must link to.
type chain struct {
	seq  uint64
	prev string
}

// next checks one line against the chain and advances it; it returns why the
// line is bad, or "".
func (c *chain) next(line []byte) string {
	rec, reason := parseRecord(line)
	if reason != "" {
		return reason
	}
	if rec.Seq != c.seq+1 {
		return fmt.Sprintf("seq %d where %d was expected (record deleted, inserted or reordered)", rec.Seq, c.seq+1)
	}
	if rec.Prev != c.prev {
		return "prev does not match the hash of the record before (record deleted, inserted, reordered or rewritten)"
	}
	c.seq, c.prev = rec.Seq, rec.Hash
	return ""
}

// parseRecord decodes one line and checks it on its own: known fields only,
// canonical encoding byte for byte, and a hash that matches.
func parseRecord(line []byte) (Record, string) {
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, "not a valid record (edited or corrupted)"
	}
	if dec.More() {
		return rec, "more than one record on the line (edited)"
	}
	canon, err := rec.encode()
	if err != nil || !bytes.Equal(canon, line) {
		return rec, "not in canonical form (edited)"
	}
	sum, err := rec.sum()
	if err != nil || sum != rec.Hash {
		return rec, "hash does not match the record (edited)"
	}
	return rec, ""
}
