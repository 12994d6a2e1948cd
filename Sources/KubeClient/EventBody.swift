import FoundationEssentials
import Glibc

/// A core/v1 Event about a Node, as kubelet and node-problem-detector write them, so that
/// `kubectl describe node` lists it.
struct EventBody: Encodable {
    struct Metadata: Encodable {
        var name: String
        var namespace = "default"
    }

    struct ObjectReference: Encodable {
        var kind = "Node"
        var name: String
        var uid: String
        var apiVersion = "v1"
        /// Nodes are not namespaced; `describe node` selects `involvedObject.namespace=`.
        var namespace = ""
    }

    struct Source: Encodable {
        var component: String
        var host: String
    }

    var apiVersion = "v1"
    var kind = "Event"
    var metadata: Metadata
    var involvedObject: ObjectReference
    var reason: String
    var message: String
    var type: String
    var source: Source
    var firstTimestamp: String
    var lastTimestamp: String
    var count = 1
    var reportingComponent: String
    var reportingInstance: String

    static let component = "autotaint"

    /// Named `<node>.<unix nanoseconds in hex>` like client-go's recorder, so each is new.
    init(_ event: NodeEvent, about node: Node, at time: timespec = .now) {
        let nanoseconds = UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
        let timestamp = Date(timeIntervalSince1970: Double(time.tv_sec)).formatted(.iso8601)
        metadata = Metadata(name: "\(node.name).\(String(nanoseconds, radix: 16))")
        // kubelet uses the node name when it has no uid at hand; so do we.
        involvedObject = ObjectReference(name: node.name, uid: node.uid.isEmpty ? node.name : node.uid)
        reason = event.reason
        message = event.message
        type = event.kind.rawValue
        source = Source(component: Self.component, host: node.name)
        firstTimestamp = timestamp
        lastTimestamp = timestamp
        reportingComponent = Self.component
        reportingInstance = node.name
    }
}

extension timespec {
    /// The wall clock now, to the nanosecond.
    static var now: timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }
}
