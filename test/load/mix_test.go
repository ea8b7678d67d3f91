package main

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tonewall/tonewall/internal/capture"
)

// In mode mix every call has the stage and one in mixShare has a window
// open: 5 of 100 calls.
func TestMixOpensOneCallIn20(t *testing.T) {
	caps, err := newCaptures(options{stage: "none,mix"})
	require.NoError(t, err)
	open := 0
	for i := range 100 {
		st, err := caps.stage("mix", fmt.Sprint("mix-", i), i)
		require.NoError(t, err)
		ctrl, ok := st.(*capture.Controller)
		require.True(t, ok, "call %d: no capture stage", i)
		if ctrl.Current() != nil {
			open++
			require.Zero(t, i%mixShare, "call %d has a window open", i)
		}
	}
	require.Equal(t, 5, open)
	st, err := caps.stage("none", "none-0", 0)
	require.NoError(t, err)
	require.Nil(t, st)
}
