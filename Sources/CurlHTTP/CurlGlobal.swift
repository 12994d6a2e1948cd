import CCurlShim

/// `curl_global_init`, run once per process before the first handle is made (Swift runs a
/// static initializer exactly once, thread-safely).
enum CurlGlobal {
    static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))
}
