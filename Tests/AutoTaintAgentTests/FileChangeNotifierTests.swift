import Foundation
import Glibc
import Testing
@testable import AutoTaintAgent

/// A directory of its own, removed at the end.
private func withDirectory(_ body: (URL) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notifier-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory)
}

/// Written and closed before it returns, so every event of the write is queued by then.
private func put(_ text: String, at path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

@Test func aWriteIsAChangeOnceAndQuietIsNone() throws {
    try withDirectory { directory in
        let path = directory.appendingPathComponent("config.yaml").path
        put("a: 1\n", at: path)
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        put("a: 2\n", at: path)
        #expect(notifier.changed())
        #expect(!notifier.changed())
    }
}

/// kubelet's update of a ConfigMap volume: the data in a new directory, then the `..data`
/// symlink swapped by a rename; the config path is a symlink through `..data`.
@Test func aConfigMapSwapIsAChangeEveryTime() throws {
    try withDirectory { volume in
        let manager = FileManager.default
        func publish(_ text: String, version: Int) throws {
            let data = volume.appendingPathComponent("..v\(version)")
            try manager.createDirectory(at: data, withIntermediateDirectories: false)
            put(text, at: data.appendingPathComponent("config.yaml").path)
            let temporary = volume.appendingPathComponent("..data_tmp").path
            try manager.createSymbolicLink(atPath: temporary, withDestinationPath: "..v\(version)")
            #expect(rename(temporary, volume.appendingPathComponent("..data").path) == 0)
        }
        try publish("a: 1\n", version: 1)
        let path = volume.appendingPathComponent("config.yaml").path
        try manager.createSymbolicLink(atPath: path, withDestinationPath: "..data/config.yaml")
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        for version in 2...3 {
            try publish("a: \(version)\n", version: version)
            try manager.removeItem(at: volume.appendingPathComponent("..v\(version - 1)"))
            #expect(notifier.changed())
            #expect(!notifier.changed())
        }
    }
}

/// A config path that is a symlink into another directory: an edit of the file it points
/// to is seen too.
@Test func anEditBehindASymlinkIntoAnotherDirectoryIsAChange() throws {
    try withDirectory { directory in
        let manager = FileManager.default
        let elsewhere = directory.appendingPathComponent("elsewhere")
        try manager.createDirectory(at: elsewhere, withIntermediateDirectories: false)
        let target = elsewhere.appendingPathComponent("real.yaml").path
        put("a: 1\n", at: target)
        let path = directory.appendingPathComponent("config.yaml").path
        try manager.createSymbolicLink(atPath: path, withDestinationPath: target)
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        put("a: 2\n", at: target)
        #expect(notifier.changed())
    }
}

/// A write that reaches the file through another path (here a hard link in another
/// directory, as a single-file bind mount edited on the host does) is heard on the file.
@Test func aWriteThroughAnotherPathIsAChange() throws {
    try withDirectory { directory in
        let manager = FileManager.default
        let host = directory.appendingPathComponent("host")
        let container = directory.appendingPathComponent("container")
        try manager.createDirectory(at: host, withIntermediateDirectories: false)
        try manager.createDirectory(at: container, withIntermediateDirectories: false)
        let path = container.appendingPathComponent("config.yaml").path
        put("a: 1\n", at: path)
        let other = host.appendingPathComponent("config.yaml").path
        #expect(link(path, other) == 0)
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        put("a: 2\n", at: other)
        #expect(notifier.changed())
        #expect(!notifier.changed())
    }
}

@Test func aDirectoryThatCannotBeWatchedIsAnError() {
    #expect(throws: FileChangeNotifierError.self) {
        try FileChangeNotifier(path: "/nonexistent-\(UUID().uuidString)/config.yaml")
    }
}
