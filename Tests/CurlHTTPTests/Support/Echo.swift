import Foundation
import CurlHTTP

/// What `/echo` reports about the request it received.
struct Echo: Decodable {
    let method: String
    let path: String
    let headers: [String: String]
    let body: String
    let connection: Int

    init(_ response: HTTPResponse) throws {
        self = try JSONDecoder().decode(Echo.self, from: Data(response.body))
    }
}

/// What `/stats` reports about the server's life so far.
struct Stats: Decodable {
    let connections: Int
    let maxInFlight: Int

    init(_ response: HTTPResponse) throws {
        self = try JSONDecoder().decode(Stats.self, from: Data(response.body))
    }
}
