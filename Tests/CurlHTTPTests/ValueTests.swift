import Testing
@testable import CurlHTTP

@Suite struct HeaderTests {
    @Test(arguments: [
        ("Content-Type: application/json\r\n", "Content-Type", "application/json"),
        ("retry-after:7\r\n", "retry-after", "7"),
        ("X-Empty:\r\n", "X-Empty", ""),
        ("Location:  http://a:80/b \r\n", "Location", "http://a:80/b"),
    ])
    func parsesHeaderLines(line: String, name: String, value: String) {
        #expect(HTTPField(headerLine: line[...]) == HTTPField(name: name, value: value))
    }

    @Test(arguments: ["HTTP/1.1 200 OK\r\n", "\r\n", "no colon here\r\n", ": no name\r\n", "Bad Name: x\r\n"])
    func rejectsLinesThatAreNotFields(line: String) {
        #expect(HTTPField(headerLine: line[...]) == nil)
    }

    @Test func lookupIgnoresCaseAndTakesTheFirst() {
        let headers: HTTPHeaders = ["content-type": "text/plain", "Content-Type": "application/json", "Retry-After": "120"]
        #expect(headers["CONTENT-TYPE"] == "text/plain")
        #expect(headers.contentType == "text/plain")
        #expect(headers.retryAfterSeconds == 120)
        #expect(headers["Content-Typf"] == nil)
    }

    @Test(arguments: [
        ("7", 7 as Int?), ("0", 0), ("-1", nil), ("Wed, 21 Oct 2015 07:28:00 GMT", nil), ("", nil),
    ])
    func retryAfterIsSecondsOnly(value: String, seconds: Int?) {
        let headers: HTTPHeaders = ["Retry-After": value]
        #expect(headers.retryAfterSeconds == seconds)
    }
}

@Suite struct ValueTests {
    @Test(arguments: [
        (Duration.seconds(2), 2000), (.milliseconds(1), 1), (.microseconds(1500), 2), (.zero, 1),
        (.seconds(-5), 1), (.nanoseconds(1), 1),
    ])
    func timeoutsRoundUpToWholeMilliseconds(duration: Duration, milliseconds: Int) {
        #expect(duration.curlMilliseconds == milliseconds)
    }

    /// Codes from libcurl's `CURLcode`.
    @Test(arguments: [
        (28 as UInt32, CurlError.Kind.timedOut), (7, .couldNotConnect), (6, .couldNotResolveHost),
        (35, .tls), (60, .tls), (58, .tls), (77, .tls), (52, .connectionLost), (56, .connectionLost),
        (18, .connectionLost), (3, .other),
    ])
    func curlCodesHaveKinds(code: UInt32, kind: CurlError.Kind) {
        #expect(CurlError.Kind(.init(rawValue: code)) == kind)
    }
}
