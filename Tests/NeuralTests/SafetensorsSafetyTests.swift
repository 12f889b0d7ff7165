import Foundation
import Neural
import Testing

/// A safetensors file from a header (JSON) and raw data bytes.
private func file(_ header: String, data: [UInt8] = []) -> Data {
    var json = Array(header.utf8)
    while json.count % 8 != 0 { json.append(0x20) }
    var out = [UInt8]()
    var n = UInt64(json.count)
    for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
    return Data(out + json + data)
}

private func message(_ data: Data) -> String {
    do { _ = try Safetensors.decode(data, path: "t.safetensors"); return "" } catch { return "\(error)" }
}

@Suite struct SafetensorsSafetyTests {
    /// A shape of [2^62, 2^62] used to trap computing its size; negative, overflowing and
    /// oversized shapes and offsets are refused before anything is allocated.
    @Test func shapesCheckedAgainstTheBytes() {
        let big = 1 << 62
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[\#(big),\#(big)],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)))
            .contains("needs more bytes"))
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16)))
            .contains("negative"))
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[\#(Int.max - 4),\#(Int.max)]}}"#, data: [UInt8](repeating: 0, count: 8)))
            .contains("data_offsets"))
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 8)))
            .contains("needs more bytes"))
        // A header length with the top bit set (negative as an Int) or beyond the file.
        var d = [UInt8](repeating: 0xFF, count: 8); d += Array("{}".utf8)
        #expect(message(Data(d)).contains("header length"))
        // The good case.
        #expect(message(file(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, data: [UInt8](repeating: 0, count: 16))) == "")
    }

    /// NaN weights (a diverged or corrupted model) are refused where they are read, and a
    /// float64 beyond the float32 range too.
    @Test func nonFiniteWeightsRefused() throws {
        let nan = Float.nan.bitPattern
        let bytes = (0..<4).flatMap { i in [UInt8(nan & 0xFF), UInt8((nan >> 8) & 0xFF), UInt8((nan >> 16) & 0xFF), UInt8(nan >> 24)].map { i == 2 ? $0 : 0 } }
        let m = message(file(#"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: bytes))
        #expect(m.contains("not finite") && m.contains("index 2") && m.contains("t.safetensors"))
        let huge = (1e300).bitPattern
        let b64 = (0..<8).map { UInt8((huge >> (8 * UInt64($0))) & 0xFF) }
        #expect(message(file(#"{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#, data: b64)).contains("not finite"))
    }
}
