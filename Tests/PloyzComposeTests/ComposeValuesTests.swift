import Testing
@testable import PloyzCompose

@Suite struct ComposeValuesTests {
    @Test func durations() {
        #expect(ComposeValues.duration("10s") == 10)
        #expect(ComposeValues.duration("1m30s") == 90)
        #expect(ComposeValues.duration("500ms") == 0.5)
        #expect(ComposeValues.duration("1h2m3s") == 3723)
        #expect(ComposeValues.duration("1.5s") == 1.5)
        #expect(ComposeValues.duration("0") == 0)
        for bad in ["", "10", "s", "1x", "-1s", "1.2.3s", "1 s", "ten s"] {
            #expect(ComposeValues.duration(bad) == nil, "\(bad)")
        }
    }

    @Test func memoryUnits() {
        #expect(ComposeValues.byteSize("1024") == 1024)
        #expect(ComposeValues.byteSize("512M") == 512 << 20)
        #expect(ComposeValues.byteSize("256m") == 256 << 20)
        #expect(ComposeValues.byteSize("1g") == 1 << 30)
        #expect(ComposeValues.byteSize("1gb") == 1 << 30)
        #expect(ComposeValues.byteSize("1GiB") == 1 << 30)
        #expect(ComposeValues.byteSize("1.5g") == 3 << 29)
        #expect(ComposeValues.byteSize("100k") == 100 << 10)
        #expect(ComposeValues.byteSize("64 MB") == 64 << 20)
        #expect(ComposeValues.byteSize("10b") == 10)
        for bad in ["", "M", "1x", "1ib", "-1g", "1 2g", "lots"] {
            #expect(ComposeValues.byteSize(bad) == nil, "\(bad)")
        }
    }

    @Test func shellWords() {
        #expect(ComposeValues.shellWords("httpd -f -p 8080") == ["httpd", "-f", "-p", "8080"])
        #expect(ComposeValues.shellWords("  a   b\t") == ["a", "b"])
        #expect(ComposeValues.shellWords("sh -c 'echo $HOME; ls'") == ["sh", "-c", "echo $HOME; ls"])
        #expect(ComposeValues.shellWords(#"echo "a \"quoted\" word" 'it''s'"#) == ["echo", #"a "quoted" word"#, "its"])
        #expect(ComposeValues.shellWords(#"echo "a\nb" c\ d"#) == ["echo", #"a\nb"#, "c d"])
        #expect(ComposeValues.shellWords("echo '' x") == ["echo", "", "x"])
        #expect(ComposeValues.shellWords("") == [])
        #expect(ComposeValues.shellWords("echo 'open") == nil)
        #expect(ComposeValues.shellWords("echo \"open") == nil)
        #expect(ComposeValues.shellWords("echo \\") == nil)
    }

    @Test func exposedPorts() {
        #expect(ComposeValues.exposedPort("8080")! == (8080, "tcp"))
        #expect(ComposeValues.exposedPort("8080/tcp")! == (8080, "tcp"))
        #expect(ComposeValues.exposedPort("53/UDP")! == (53, "udp"))
        #expect(ComposeValues.exposedPort("70000")! == (70000, "tcp"))
        for bad in ["", "http", "80-90", "80/sctp", "-1", "80/"] {
            #expect(ComposeValues.exposedPort(bad) == nil, "\(bad)")
        }
    }

    @Test func dollars() {
        #expect(ComposeValues.unescapingDollars("plain") == "plain")
        #expect(ComposeValues.unescapingDollars("$$HOME and $$$$") == "$HOME and $$")
        #expect(ComposeValues.unescapingDollars("${TAG}") == nil)
        #expect(ComposeValues.unescapingDollars("a$") == nil)
    }
}
