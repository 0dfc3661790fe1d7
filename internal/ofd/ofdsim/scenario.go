package ofdsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Scenario names.
const (
	ScenarioOK           = "ok"
	ScenarioPendingCalls = "pending_calls"
	ScenarioPendingFor   = "pending_for"
	ScenarioInvalidFP    = "invalid_fp"
	ScenarioNotFound     = "not_found"
	ScenarioAutonomous   = "autonomous_kkt"
	ScenarioRateLimited  = "rate_limited"
	ScenarioWait         = "wait"
	ScenarioServerError  = "server_error"
	ScenarioSlow         = "slow"
	ScenarioMalformed    = "malformed"
)

// scenarioCodes maps the two digits after "9999" in fn to a scenario.
var scenarioCodes = map[string]string{
	"00": ScenarioOK, "01": ScenarioPendingCalls, "02": ScenarioPendingFor, "03": ScenarioInvalidFP,
	"04": ScenarioNotFound, "05": ScenarioAutonomous, "06": ScenarioRateLimited, "07": ScenarioWait,
	"08": ScenarioServerError, "09": ScenarioSlow, "10": ScenarioMalformed,
}

// Scenario says how the simulator answers for one receipt.
type Scenario struct {
	// Name is one of the Scenario* constants; "" means ok.
	Name string `json:"scenario"`
	// Calls: pending_calls answers "not yet" for this many calls
	// (proverkacheka requests, Open API polls) before the receipt appears.
	Calls int `json:"calls,omitempty"`
	// Duration: pending_for answers "not yet" until this long after the
	// receipt was first asked for.
	Duration Duration `json:"duration,omitempty"`
	// Delay: slow waits this long before answering normally.
	Delay Duration `json:"delay,omitempty"`
	// SOAPFault: server_error answers the Open API with a SOAP Fault (HTTP
	// 500) instead of HTTP 503.
	SOAPFault bool `json:"soap_fault,omitempty"`
}

// Duration is a time.Duration that reads and writes JSON as "90s"/"10m" (or
// a number of seconds).
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "90s" or 90 (seconds).
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n float64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: %s", b)
	}
	*d = Duration(n * float64(time.Second))
	return nil
}

// ScenarioFromFN applies the fn rule. A 16-digit fn of the form
//
//	9999 SS PPPP XXXXXX
//
// selects scenario SS (00 ok, 01 pending_calls, 02 pending_for, 03
// invalid_fp, 04 not_found, 05 autonomous_kkt, 06 rate_limited, 07 wait, 08
// server_error, 09 slow, 10 malformed) with parameter PPPP: the number of
// calls for 01 (0 → 2), seconds for 02 (0 → 300), milliseconds for 09
// (0 → 2000), and for 08 an odd PPPP selects the SOAP Fault variant. The
// last six digits are free (they tell shops apart). Any other fn is ok.
func ScenarioFromFN(fn string) Scenario {
	if len(fn) != 16 || fn[:4] != "9999" {
		return Scenario{Name: ScenarioOK}
	}
	name, ok := scenarioCodes[fn[4:6]]
	if !ok {
		return Scenario{Name: ScenarioOK}
	}
	p, _ := strconv.Atoi(fn[6:10])
	s := Scenario{Name: name}
	switch name {
	case ScenarioPendingCalls:
		s.Calls = p
		if p == 0 {
			s.Calls = 2
		}
	case ScenarioPendingFor:
		s.Duration = Duration(time.Duration(p) * time.Second)
		if p == 0 {
			s.Duration = Duration(5 * time.Minute)
		}
	case ScenarioSlow:
		s.Delay = Duration(time.Duration(p) * time.Millisecond)
		if p == 0 {
			s.Delay = Duration(2 * time.Second)
		}
	case ScenarioServerError:
		s.SOAPFault = p%2 == 1
	}
	return s
}

func validScenario(name string) bool {
	if name == "" {
		return true
	}
	for _, n := range scenarioCodes {
		if n == name {
			return true
		}
	}
	return false
}
