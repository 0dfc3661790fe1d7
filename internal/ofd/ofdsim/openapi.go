package ofdsim

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Namespaces of the FNS Open API (delivery kit WSDL/XSD).
const (
	nsSOAP      = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSyncMsg   = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiMessageConsumerService/types/1.0"
	nsAsyncMsg  = "urn://x-artefacts-gnivc-ru/inplat/servin/OpenApiAsyncMessageConsumerService/types/1.0"
	nsAuthTypes = "urn://x-artefacts-gnivc-ru/ais3/kkt/AuthService/types/1.0"
	nsKKTTypes  = "urn://x-artefacts-gnivc-ru/ais3/kkt/KktTicketService/types/1.0"
)

// Result messages of the KKT service (KKTService-types XSD).
const (
	oaOK          = "Отправленные данные корректны"
	oaBadFormat   = "Формат отправленных данных некорректен"
	oaNotFound    = "Чек не найден"
	oaNotPassed   = "Данные не прошли проверку"
	oaUnavailable = "Сервис недоступен"
)

type inEnvelope struct {
	Body struct {
		GetMessageRequest *struct {
			MessageID string `xml:"MessageId"`
			Message   struct {
				AuthRequest *struct {
					MasterToken string `xml:"AuthAppInfo>MasterToken"`
				} `xml:"AuthRequest"`
			} `xml:"Message"`
		} `xml:"GetMessageRequest"`
		SendMessageRequest *struct {
			Message struct {
				GetTicket   *ticketInfo `xml:"GetTicketRequest>GetTicketInfo"`
				CheckTicket *ticketInfo `xml:"CheckTicketRequest>CheckTicketInfo"`
			} `xml:"Message"`
		} `xml:"SendMessageRequest"`
	} `xml:"Body"`
}

type ticketInfo struct {
	Sum              string `xml:"Sum"`
	Date             string `xml:"Date"`
	Fn               string `xml:"Fn"`
	TypeOperation    string `xml:"TypeOperation"`
	FiscalDocumentID string `xml:"FiscalDocumentId"`
	FiscalSign       string `xml:"FiscalSign"`
}

func soapWrite(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprint(w, `<soap:Envelope xmlns:soap="`+nsSOAP+`"><soap:Body>`+body+`</soap:Body></soap:Envelope>`)
}

func soapFault(w http.ResponseWriter, code, msg, detail string) {
	soapWrite(w, http.StatusInternalServerError, `<soap:Fault><faultcode>soap:`+code+`</faultcode><faultstring>`+esc(msg)+
		`</faultstring><detail>`+detail+`</detail></soap:Fault>`)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func readEnvelope(r *http.Request) (*inEnvelope, error) {
	var env inEnvelope
	dec := xml.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(&env); err != nil {
		return nil, err
	}
	return &env, nil
}

// handleAuth serves AuthService GetMessage: master token → temporary token.
func (s *Server) handleAuth(w http.ResponseWriter, r *http.Request) {
	s.count("openapi_auth")
	env, err := readEnvelope(r)
	if err != nil || env.Body.GetMessageRequest == nil || env.Body.GetMessageRequest.Message.AuthRequest == nil {
		soapFault(w, "Client", "Unmarshalling Error", "")
		return
	}
	mt := strings.TrimSpace(env.Body.GetMessageRequest.Message.AuthRequest.MasterToken)
	var inner string
	if mt == "" || (len(s.cfg.MasterTokens) > 0 && !slices.Contains(s.cfg.MasterTokens, mt)) {
		inner = `<tns:AuthResponse xmlns:tns="` + nsAuthTypes + `"><tns:Fault><tns:Message>Мастер-токен не найден</tns:Message></tns:Fault></tns:AuthResponse>`
	} else {
		s.mu.Lock()
		s.nextID++
		tok := fmt.Sprintf("%016x%016x", uint64(s.cfg.Now().UnixNano()), s.nextID*0x9e3779b97f4a7c15)
		exp := s.cfg.Now().Add(s.cfg.TokenTTL)
		s.tokens[tok] = exp
		s.mu.Unlock()
		inner = `<tns:AuthResponse xmlns:tns="` + nsAuthTypes + `"><tns:Result><tns:Token>` + tok + `</tns:Token><tns:ExpireTime>` +
			exp.In(time.FixedZone("MSK", 3*3600)).Format("2006-01-02T15:04:05 -07:00") + `</tns:ExpireTime></tns:Result></tns:AuthResponse>`
	}
	soapWrite(w, http.StatusOK, `<GetMessageResponse xmlns="`+nsSyncMsg+`"><Message>`+inner+`</Message></GetMessageResponse>`)
}

func (s *Server) tokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && s.cfg.Now().Before(exp)
}

// handleKKT serves KktService SendMessage and GetMessage.
func (s *Server) handleKKT(w http.ResponseWriter, r *http.Request) {
	env, err := readEnvelope(r)
	if err != nil {
		s.count("openapi_kkt_bad")
		soapFault(w, "Client", "Unmarshalling Error", "")
		return
	}
	if !s.tokenValid(r.Header.Get("FNS-OpenApi-Token")) {
		s.count("openapi_auth_fault")
		soapFault(w, "Client", "Ошибка проверки подлинности", `<ns:AuthenticationFault xmlns:ns="`+nsAsyncMsg+`"/>`)
		return
	}
	switch {
	case env.Body.SendMessageRequest != nil:
		s.count("openapi_send")
		s.sendMessage(w, r, env)
	case env.Body.GetMessageRequest != nil:
		s.count("openapi_get_message")
		s.getMessage(w, strings.TrimSpace(env.Body.GetMessageRequest.MessageID))
	default:
		soapFault(w, "Client", "Unknown operation", "")
	}
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, env *inEnvelope) {
	m := env.Body.SendMessageRequest.Message
	ti, check := m.GetTicket, false
	if ti == nil {
		ti, check = m.CheckTicket, true
	}
	if ti == nil {
		soapFault(w, "Client", "Unknown message", "")
		return
	}
	qr, ok := fields(strings.TrimSpace(ti.Fn), strings.TrimSpace(ti.FiscalDocumentID), strings.TrimSpace(ti.FiscalSign),
		strings.TrimSpace(ti.TypeOperation), strings.TrimSpace(ti.Date), "")
	if ok {
		sum, err := strconv.ParseInt(strings.TrimSpace(ti.Sum), 10, 64)
		ok = err == nil && sum >= 0
		qr.Sum, qr.HasSum = sum, true
	}
	msg := &message{qr: qr, check: check}
	if !ok {
		msg.key = "" // answered 400 on GetMessage
	} else {
		msg.key = key(qr.FN, qr.FD)
		// Transport-level scenarios act on SendMessage.
		sc := s.peekScenario(qr)
		switch sc.Name {
		case ScenarioServerError:
			s.resolve(qr, true, "")
			if sc.SOAPFault {
				soapFault(w, "Server", "Внутренняя ошибка сервиса", `<ns:KktTicketServiceFault xmlns:ns="`+nsKKTTypes+`"><ns:Message>Internal error</ns:Message></ns:KktTicketServiceFault>`)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>")
			return
		case ScenarioSlow:
			sleep(r.Context(), time.Duration(sc.Delay))
		}
	}
	s.mu.Lock()
	s.nextID++
	id := fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(s.nextID*2654435761), s.nextID%0xffff, s.nextID%0xfff, (s.nextID*7)%0xfff, s.nextID)
	s.messages[id] = msg
	s.mu.Unlock()
	soapWrite(w, http.StatusOK, `<SendMessageResponse xmlns="`+nsAsyncMsg+`"><MessageId>`+id+`</MessageId></SendMessageResponse>`)
}

func (s *Server) peekScenario(qr q) Scenario {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.receipts[key(qr.FN, qr.FD)]; e != nil && e.Scenario != nil {
		return *e.Scenario
	}
	return ScenarioFromFN(qr.FN)
}

func (s *Server) getMessage(w http.ResponseWriter, id string) {
	s.mu.Lock()
	msg := s.messages[id]
	if msg != nil {
		msg.polls++
	}
	s.mu.Unlock()
	if msg == nil {
		soapFault(w, "Client", "Сообщение не найдено", `<ns:MessageNotFoundFault xmlns:ns="`+nsAsyncMsg+`"/>`)
		return
	}
	elem := "GetTicketResponse"
	if msg.check {
		elem = "CheckTicketResponse"
	}
	completed := func(code int, text string, ticket string) {
		res := fmt.Sprintf("<tns:Code>%d</tns:Code>", code)
		if ticket != "" {
			res += "<tns:Ticket>" + esc(ticket) + "</tns:Ticket>"
		} else {
			res += "<tns:Message>" + esc(text) + "</tns:Message>"
		}
		soapWrite(w, http.StatusOK, `<GetMessageResponse xmlns="`+nsAsyncMsg+`"><ProcessingStatus>COMPLETED</ProcessingStatus><Message><tns:`+
			elem+` xmlns:tns="`+nsKKTTypes+`"><tns:Result>`+res+`</tns:Result></tns:`+elem+`></Message></GetMessageResponse>`)
	}
	processing := func() {
		soapWrite(w, http.StatusOK, `<GetMessageResponse xmlns="`+nsAsyncMsg+`"><ProcessingStatus>PROCESSING</ProcessingStatus></GetMessageResponse>`)
	}
	if msg.key == "" {
		completed(400, oaBadFormat, "")
		return
	}
	o := s.resolve(msg.qr, true, "oa")
	switch o.kind {
	case "ok":
		if msg.check {
			completed(200, oaOK, "")
			return
		}
		b, _ := marshalNoEscape(kvOf("receipt", receiptJSON(o.receipt, styleFNS)))
		completed(200, "", string(b))
	case "pending", "wait":
		processing()
	case "invalid":
		completed(406, oaNotPassed, "")
	case "not_found", "autonomous":
		completed(404, oaNotFound, "")
	case "rate_limited", "server_error":
		completed(503, oaUnavailable, "")
	case "malformed":
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		fmt.Fprint(w, `<soap:Envelope xmlns:soap="`+nsSOAP+`"><soap:Body><GetMessageResponse xmlns="`+nsAsyncMsg+`"><ProcessingStatus>COMPL`)
	}
}
