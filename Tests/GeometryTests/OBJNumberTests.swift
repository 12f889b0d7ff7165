import Foundation
import Testing

@testable import Geometry

/// `OBJParser.fastDecimal` against glibc's `strtod` (correctly rounded) to the bit: where the fast
/// path answers it must agree, and on a written double (17 significant digits) it must answer
/// nearly always, or it would not be worth having.
@Suite struct OBJNumberTests {
    /// (fast result or nil, strtod result, consumed length).
    private func both(_ s: String) -> ((Double, Int)?, Double) {
        let bytes = Array(s.utf8) + [0]
        let fast = bytes.withUnsafeBufferPointer { OBJParser.fastDecimal($0.baseAddress!, 0, bytes.count - 1) }
        let reference = bytes.withUnsafeBufferPointer { b in
            b.baseAddress!.withMemoryRebound(to: CChar.self, capacity: b.count) { strtod($0, nil) }
        }
        return (fast, reference)
    }

    @Test func agreesWithStrtodToTheBit() {
        var rng = SystemRandomNumberGenerator()
        var answered = 0, written = 0
        for trial in 0..<60_000 {
            let magnitude = Double.random(in: -24...24, using: &rng)
            let x = (Bool.random(using: &rng) ? -1.0 : 1.0) * Foundation.pow(10, magnitude) * Double.random(in: 1...10, using: &rng)
            let format = ["%.17g", "%.15g", "%.6f", "%.3e", "%.19g", "%.9g"][trial % 6]
            let s = String(format: format, x)
            let (fast, reference) = both(s)
            if let (value, length) = fast {
                #expect(value.bitPattern == reference.bitPattern, "\(s): \(value) against strtod's \(reference)")
                #expect(length == s.utf8.count, "\(s): stopped at \(length)")
            }
            if format == "%.17g" && abs(magnitude) <= 10 {
                written += 1
                if fast != nil { answered += 1 }
            }
        }
        // Written doubles of magnitude 1e-10 to 1e11 (decimal exponents within ±27 for 17
        // digits): the fast path answers all but the near-midpoint ones (about 3 in 2048).
        #expect(Double(answered) > 0.95 * Double(written), "\(answered) of \(written)")
    }

    @Test func edgeCases() {
        let cases = ["0", "-0", "+0", "0.0", "-0.000", "1", "1.", ".5", "-.5", "1e5", "1E+5", "1e-5", "123456789012345678",
                     "1234567890123456789", "0.1", "0.3", "9007199254740993", "9007199254740992.5", "1e27", "1e-27",
                     "4.9406564584124654e-10", "0.000000000000000000000000001", "2.2250738585072014e-5",
                     "1.7976931348623157e20", "0.29999999999999998889776975", "5e-1", "00000012.5000"]
        for s in cases {
            let (fast, reference) = both(s)
            if let (value, length) = fast {
                #expect(value.bitPattern == reference.bitPattern, "\(s): \(value) against strtod's \(reference)")
                #expect(length == s.utf8.count)
            }
        }
        #expect(both("-0").0?.0.sign == .minus)
        // Left to strtod: more than 19 significant digits, exponents beyond ±27, anything else.
        for s in ["12345678901234567890", "1e28", "1e-300", "1e", "1e+", "+", ".", "-", "e5", "0x10", "inf", "nan", "1.5.2",
                  "1e99999", "1,5", "1d5"] {
            #expect(both(s).0 == nil, "\(s) should go to strtod")
        }
    }

    /// A number followed by a comment or a space ends there; the parser goes on from the index.
    @Test func stopsAtSpaceOrComment() throws {
        let text = "v 0.5 -1.25e1 3#c\nv 1 2 3 # end\nv 4 5 6\nf 1 2 3\n"
        let m = try Mesh.parseOBJ(Data(text.utf8), path: "t.obj")
        #expect(Array(m.positions.prefix(3)) == [0.5, -12.5, 3])
    }
}
