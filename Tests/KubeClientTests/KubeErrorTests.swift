import CurlHTTP
import Testing
@testable import KubeClient

@Test(arguments: [
    (400, KubeError.Kind.badRequest), (401, .unauthorized), (403, .forbidden), (404, .notFound),
    (409, .conflict), (415, .unsupportedMediaType), (422, .invalid), (429, .throttled),
    (500, .serverError(500)), (503, .serverError(503)), (504, .serverError(504)), (302, .unexpectedStatus(302)),
    (410, .unexpectedStatus(410)),
])
func statusGivesTheKind(status: Int, kind: KubeError.Kind) {
    #expect(KubeError(status: status, headers: [:], body: [], verb: "GET", resource: "nodes/n1").kind == kind)
}

@Test func messageComesFromTheStatusBody() {
    let body = #"{"kind":"Status","message":"Operation cannot be fulfilled on nodes \"n1\"","reason":"Conflict","code":409}"#
    let error = KubeError(status: 409, headers: [:], body: Array(body.utf8), verb: "PATCH", resource: "nodes/n1")
    #expect(error.description == #"PATCH nodes/n1: Operation cannot be fulfilled on nodes "n1""#)
}

@Test func causesNotInTheMessageAreAdded() {
    let body = #"""
        {"kind":"Status","message":"Node \"n1\" is invalid","reason":"Invalid","code":422,
         "details":{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: \"x y\"","field":"spec.taints[0].key"},
                              {"reason":"FieldValueRequired","message":"Required value","field":"spec.taints[1].effect"}]}}
        """#
    let error = KubeError(status: 422, headers: [:], body: Array(body.utf8), verb: "PATCH", resource: "nodes/n1")
    #expect(error.message == #"Node "n1" is invalid; spec.taints[0].key: Invalid value: "x y"; spec.taints[1].effect: Required value"#)
}

@Test func causesAlreadyInTheMessageAreNotRepeated() {
    let body = #"{"message":"Node \"n1\" is invalid: spec.taints[0].key: Required value","details":{"causes":[{"message":"Required value","field":"spec.taints[0].key"}]}}"#
    let error = KubeError(status: 422, headers: [:], body: Array(body.utf8), verb: "PATCH", resource: "nodes/n1")
    #expect(error.message == #"Node "n1" is invalid: spec.taints[0].key: Required value"#)
}

@Test func retryAfterComesFromTheHeaderOrTheDetails() {
    let fromHeader = KubeError(status: 429, headers: ["Retry-After": "7"], body: [], verb: "GET", resource: "nodes/n1")
    #expect(fromHeader.retryAfter == .seconds(7))
    let body = #"{"message":"slow down","details":{"retryAfterSeconds":3}}"#
    let fromBody = KubeError(status: 503, headers: [:], body: Array(body.utf8), verb: "GET", resource: "nodes/n1")
    #expect(fromBody.retryAfter == .seconds(3))
    #expect(KubeError(status: 500, headers: [:], body: [], verb: "GET", resource: "nodes/n1").retryAfter == nil)
}

@Test func aBodyThatIsNoStatusIsQuoted() {
    let error = KubeError(status: 502, headers: [:], body: Array("<html>\nBad Gateway</html>".utf8), verb: "GET", resource: "nodes/n1")
    #expect(error.message == "HTTP 502: <html>.Bad Gateway</html>")
    #expect(KubeError(status: 502, headers: [:], body: [], verb: "GET", resource: "nodes/n1").message == "HTTP 502")
}

@Test func transportErrorsKeepCurlsWords() {
    let curl = CurlError(kind: .couldNotConnect, code: 7, message: "Failed to connect to 127.0.0.1 port 1", context: "GET x")
    let error = KubeError(transport: curl, verb: "GET", resource: "nodes/n1")
    #expect(error.kind == .transport)
    #expect(error.message == "Failed to connect to 127.0.0.1 port 1 (curl error 7)")
}
