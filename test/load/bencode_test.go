package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// An ng request goes out with its keys sorted; a response comes back as
// maps, lists, strings and int64s; anything cut short or malformed is an
// error, not a crash.
func TestBencode(t *testing.T) {
	b, err := bencode(nil, map[string]any{"command": "offer", "flags": []string{"a", "bc"}, "n": -3,
		"x": []any{"y", map[string]any{}}})
	require.NoError(t, err)
	require.Equal(t, "d7:command5:offer5:flagsl1:a2:bce1:ni-3e1:xl1:ydeee", string(b))

	v, rest, err := bdecode([]byte("d6:result2:ok3:sdp3:v=04:listli7e0:ee trailing"))
	require.NoError(t, err)
	require.Equal(t, " trailing", string(rest))
	require.Equal(t, map[string]any{"result": "ok", "sdp": "v=0", "list": []any{int64(7), ""}}, v)

	for _, bad := range []string{"", "d", "l", "i12", "ixe", "5:abc", "-1:", "d3:key", "di1e1:ae", "x"} {
		_, _, err := bdecode([]byte(bad))
		require.Error(t, err, "%q", bad)
	}
	_, err = bencode(nil, 1.5)
	require.Error(t, err)
}
