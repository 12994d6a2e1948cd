import CCurlShim

/// Everything one transfer sets on an easy handle that `curl_easy_reset` has just cleared
/// (the reset keeps the handle's connections and TLS sessions, so they are reused).
struct TransferSetup {
    let options: HTTPClientOptions
    let request: HTTPRequest
    /// False: the connection is closed when the transfer ends, however it ends.
    let keepsConnection: Bool

    var context: String { "\(request.method.rawValue) \(request.url)" }

    /// The request's headers as a libcurl list, which the caller frees with
    /// `curl_slist_free_all` after the transfer.
    func headerList() throws(CurlError) -> UnsafeMutablePointer<curl_slist>? {
        var lines = request.headers.fields.map { "\($0.name): \($0.value)" }
        if body != nil, request.headers.contentType == nil {
            lines.append("Content-Type:")  // removes libcurl's default form type
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in lines {
            guard !line.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                curl_slist_free_all(list)
                throw CurlError(
                    kind: .other, code: Int(CURLE_BAD_FUNCTION_ARGUMENT.rawValue),
                    message: "a header contains a line break", context: context
                )
            }
            guard let longer = curl_slist_append(list, line) else {
                curl_slist_free_all(list)
                throw CurlError(CURLE_OUT_OF_MEMORY, context: context)
            }
            list = longer
        }
        return list
    }

    /// `headers` (from `headerList()`) and `errorBuffer` (`CURL_ERROR_SIZE` bytes) must
    /// live until the transfer ends; `receiver` is the userdata of both callbacks.
    func apply(
        to easy: UnsafeMutableRawPointer,
        headers: UnsafeMutablePointer<curl_slist>?,
        errorBuffer: UnsafeMutablePointer<CChar>,
        receiver: UnsafeMutableRawPointer
    ) throws(CurlError) {
        let setter = EasyOptionSetter(easy: easy, context: context)
        try setter.set(CURLOPT_NOSIGNAL, 1)
        try setter.set(CURLOPT_ERRORBUFFER, pointer: errorBuffer)
        try setter.set(CURLOPT_PROTOCOLS_STR, "http,https")
        try setter.set(CURLOPT_URL, request.url)
        try setter.set(CURLOPT_CONNECTTIMEOUT_MS, options.connectTimeout.curlMilliseconds)
        try setter.set(CURLOPT_TIMEOUT_MS, (request.timeout ?? options.timeout).curlMilliseconds)
        try setter.set(CURLOPT_TCP_KEEPALIVE, 1)
        if !keepsConnection { try setter.set(CURLOPT_FORBID_REUSE, 1) }
        try applyTLS(setter)
        try applyMethodAndBody(setter)
        try setter.set(CURLOPT_HTTPHEADER, pointer: headers)
        try setter.set(CURLOPT_HEADERFUNCTION) { ResponseReceiver.header($0, $1 * $2, $3) }
        try setter.set(CURLOPT_HEADERDATA, pointer: receiver)
        try setter.set(CURLOPT_WRITEFUNCTION) { ResponseReceiver.body($0, $1 * $2, $3) }
        try setter.set(CURLOPT_WRITEDATA, pointer: receiver)
    }

    private func applyTLS(_ setter: EasyOptionSetter) throws(CurlError) {
        let tls = options.tls
        if tls.insecureSkipTLSVerify {
            try setter.set(CURLOPT_SSL_VERIFYPEER, 0)
            try setter.set(CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let ca = tls.certificateAuthority {
            try set(ca, file: CURLOPT_CAINFO, blob: CURLOPT_CAINFO_BLOB, setter)
            try setter.set(CURLOPT_CAPATH, nil)  // trust this CA only, not /etc/ssl/certs too
        }
        if let certificate = tls.clientCertificate {
            try set(certificate, file: CURLOPT_SSLCERT, blob: CURLOPT_SSLCERT_BLOB, setter)
        }
        if let key = tls.clientKey {
            try set(key, file: CURLOPT_SSLKEY, blob: CURLOPT_SSLKEY_BLOB, setter)
        }
    }

    private func set(_ source: PEMSource, file: CURLoption, blob: CURLoption, _ setter: EasyOptionSetter) throws(CurlError) {
        switch source {
        case .file(let path): try setter.set(file, path)
        case .data(let pem): try setter.set(blob, blob: pem)
        }
    }

    /// The request's body; an empty one for a POST, PUT or PATCH without one, so that
    /// libcurl sends `Content-Length: 0`.
    private var body: [UInt8]? {
        request.body ?? ([.post, .put, .patch].contains(request.method) ? [] : nil)
    }

    /// With a body libcurl sends POST, without one GET; any other method is named.
    private func applyMethodAndBody(_ setter: EasyOptionSetter) throws(CurlError) {
        if let body {
            try setter.set(CURLOPT_POSTFIELDSIZE_LARGE, offset: Int64(body.count))
            try setter.set(CURLOPT_COPYPOSTFIELDS, copying: body)
        }
        let implied: HTTPMethod = body == nil ? .get : .post
        if request.method != implied {
            try setter.set(CURLOPT_CUSTOMREQUEST, request.method.rawValue)
        }
    }
}
