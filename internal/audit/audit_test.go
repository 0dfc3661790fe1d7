package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	ok := Entry{Actor: StaffActor(1, "Анна", "10.0.0.1"), Action: "program.create", ObjectKind: "program", ObjectID: "7"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid entry: %v", err)
	}
	for name, mut := range map[string]func(*Entry){
		"staff without id":  func(e *Entry) { e.Actor.ID = 0 },
		"unknown actor":     func(e *Entry) { e.Actor.Kind = "robot" },
		"undotted action":   func(e *Entry) { e.Action = "create" },
		"upper-case action": func(e *Entry) { e.Action = "Program.Create" },
		"bad object kind":   func(e *Entry) { e.ObjectKind = "Program!" },
		"bad utf-8 reason":  func(e *Entry) { e.Reason = "\xff" },
		"long reason":       func(e *Entry) { e.Reason = strings.Repeat("я", MaxReasonRunes+1) },
		"broken json":       func(e *Entry) { e.After = json.RawMessage(`{"a":`) },
	} {
		e := ok
		mut(&e)
		if e.Validate() == nil {
			t.Errorf("%s: Validate passed", name)
		}
	}
	sys := Entry{Actor: Actor{Kind: System}, Action: "budget.alert", ObjectKind: "program"}
	if err := sys.Validate(); err != nil {
		t.Errorf("system entry without id: %v", err)
	}
}

func TestState(t *testing.T) {
	if State(nil) != nil {
		t.Error("State(nil) is not nil")
	}
	if got := string(State(map[string]int{"a": 1})); got != `{"a":1}` {
		t.Errorf("State = %s", got)
	}
	if got := string(State(func() {})); !strings.Contains(got, "marshal_error") {
		t.Errorf("State of a func = %s", got)
	}
}
