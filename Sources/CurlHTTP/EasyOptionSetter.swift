import CCurlShim

/// Typed, throwing `curl_easy_setopt` over the shim, for one easy handle it does not own.
struct EasyOptionSetter {
    let easy: UnsafeMutableRawPointer
    /// Names the request in errors.
    let context: String

    func set(_ option: CURLoption, _ value: Int) throws(CurlError) {
        try check(ccurl_easy_setopt_long(easy, option, value))
    }

    func set(_ option: CURLoption, offset value: Int64) throws(CurlError) {
        try check(ccurl_easy_setopt_off(easy, option, curl_off_t(value)))
    }

    /// libcurl copies the string; nil restores the option's default or switches it off.
    func set(_ option: CURLoption, _ value: String?) throws(CurlError) {
        guard let value else { return try set(option, pointer: nil) }
        try check(value.withCString { ccurl_easy_setopt_pointer(easy, option, $0) })
    }

    /// The pointer must stay valid for as long as libcurl's documentation of `option` says.
    func set(_ option: CURLoption, pointer: UnsafeRawPointer?) throws(CurlError) {
        try check(ccurl_easy_setopt_pointer(easy, option, pointer))
    }

    func set(_ option: CURLoption, callback: curl_write_callback) throws(CurlError) {
        try check(ccurl_easy_setopt_write_callback(easy, option, callback))
    }

    /// For an option whose bytes libcurl copies during the call (`CURLOPT_COPYPOSTFIELDS`,
    /// with the length set before); never passes a null pointer, even for no bytes.
    func set(_ option: CURLoption, copying bytes: [UInt8]) throws(CurlError) {
        guard !bytes.isEmpty else { return try set(option, "") }
        try check(bytes.withUnsafeBytes { ccurl_easy_setopt_pointer(easy, option, $0.baseAddress) })
    }

    /// libcurl copies the bytes.
    func set(_ option: CURLoption, blob: [UInt8]) throws(CurlError) {
        try check(blob.withUnsafeBytes { ccurl_easy_setopt_blob(easy, option, $0.baseAddress, $0.count) })
    }

    private func check(_ code: CURLcode) throws(CurlError) {
        guard code == CURLE_OK else { throw CurlError(code, context: context) }
    }
}
