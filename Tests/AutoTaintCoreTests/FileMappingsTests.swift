import AutoTaintCore
import Testing

// Lines of a real /proc/self/maps (Linux 6.18), with the kinds the selection must tell apart.
private let maps = """
    55b07db05000-55b07db07000 r--p 00000000 fe:00 254163                     /usr/bin/autotaint
    55b07db07000-55b07db0d000 r-xp 00002000 fe:00 254163                     /usr/bin/autotaint
    55b07db11000-55b07db12000 rw-p 0000b000 fe:00 254163                     /usr/bin/autotaint
    55b0b0712000-55b0b0733000 rw-p 00000000 00:00 0                          [heap]
    7f2d86ad0000-7f2d86b27000 r--p 00000000 fe:00 323409                     /usr/lib/locale/C.utf8/LC_CTYPE
    7f2d86b40000-7f2d86b41000 r--s 00000000 00:05 1031                       /dev/shm/segment
    7ff53a10c000-7ff53a1df000 r-xp 0000a000 00:01 1024                       /memfd:sealed-91173221a7ea (deleted)
    7ff53a300000-7ff53a301000 r-xp 00000000 fe:00 40012                      /opt/my libs/libx.so
    7ff53a400000-7ff53a401000 ---p 00000000 00:00 0
    7ff53a500000-7ff53a502000 r--p 00000000 00:00 0                          [vvar]
    7ff53a502000-7ff53a504000 r-xp 00000000 00:00 0                          [vdso]
    7ffc1a000000-7ffc1a021000 rw-p 00000000 00:00 0                          [stack]
    """

@Test func onlyPrivateReadOnlyViewsOfFilesAreSelected() {
    let regions = FileMappings.readOnlyFileRegions(maps: maps)
    #expect(regions == [
        .init(start: 0x55b0_7db0_5000, end: 0x55b0_7db0_7000, path: "/usr/bin/autotaint"),
        .init(start: 0x55b0_7db0_7000, end: 0x55b0_7db0_d000, path: "/usr/bin/autotaint"),
        .init(start: 0x7f2d_86ad_0000, end: 0x7f2d_86b2_7000, path: "/usr/lib/locale/C.utf8/LC_CTYPE"),
        .init(start: 0x7ff5_3a30_0000, end: 0x7ff5_3a30_1000, path: "/opt/my libs/libx.so"),
    ])
    #expect(regions[1].length == 0x6000)
}

@Test(arguments: [
    "",
    "garbage",
    "55b07db05000 r--p 00000000 fe:00 254163 /usr/bin/autotaint",
    "55b07db07000-55b07db05000 r--p 00000000 fe:00 254163 /usr/bin/autotaint",
    "zz-55b07db07000 r--p 00000000 fe:00 254163 /usr/bin/autotaint",
    "55b07db05000-55b07db07000 r--p 00000000 fe:00 0 /usr/bin/autotaint",
    "55b07db05000-55b07db07000 r-p 00000000 fe:00 254163 /usr/bin/autotaint",
])
func aLineWithoutTheShapeOfAFileMappingIsSkipped(_ line: String) {
    #expect(FileMappings.readOnlyFileRegions(maps: line).isEmpty)
}
