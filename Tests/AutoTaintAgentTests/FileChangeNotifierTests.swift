import Foundation
import Testing
@testable import AutoTaintAgent

/// A directory of its own, removed at the end.
private func withDirectory(_ body: (URL) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notifier-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory)
}

@Test func aWriteIsAChangeOnceAndQuietIsNone() throws {
    try withDirectory { directory in
        let path = directory.appendingPathComponent("config.yaml").path
        try "a: 1\n".write(toFile: path, atomically: false, encoding: .utf8)
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        try "a: 2\n".write(toFile: path, atomically: false, encoding: .utf8)
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
            try text.write(to: data.appendingPathComponent("config.yaml"), atomically: false, encoding: .utf8)
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
        try "a: 1\n".write(toFile: target, atomically: false, encoding: .utf8)
        let path = directory.appendingPathComponent("config.yaml").path
        try manager.createSymbolicLink(atPath: path, withDestinationPath: target)
        let notifier = try FileChangeNotifier(path: path)
        #expect(!notifier.changed())
        try "a: 2\n".write(toFile: target, atomically: false, encoding: .utf8)
        #expect(notifier.changed())
    }
}

@Test func aDirectoryThatCannotBeWatchedIsAnError() {
    #expect(throws: FileChangeNotifierError.self) {
        try FileChangeNotifier(path: "/nonexistent-\(UUID().uuidString)/config.yaml")
    }
}
