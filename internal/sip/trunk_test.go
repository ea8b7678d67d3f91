package sip

import (
	"reflect"
	"testing"
)

func TestPreferG711(t *testing.T) {
	tests := []struct {
		in     []string
		inband bool
		want   []string
	}{
		{[]string{"opus", "G722", "PCMA", "PCMU"}, true, []string{"PCMA", "PCMU", "opus", "G722"}},
		{[]string{"opus", "PCMU"}, false, []string{"opus", "PCMU"}},
		{nil, true, nil},
	}
	for _, tt := range tests {
		if got := preferG711(tt.in, tt.inband); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("preferG711(%v, %v) = %v, want %v", tt.in, tt.inband, got, tt.want)
		}
	}
}
