import Foundation
import Spectral
import Testing

@Suite struct NPYSafetyTests {
    /// A shape of (2^62, 2^62) in a 100-byte file is refused before anything is allocated.
    @Test func shapeProductChecked() throws {
        let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(1 << 62), \(1 << 62)), }"
        var h = Array(header.utf8)
        while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h
        b += [UInt8](repeating: 0, count: 16)
        do { _ = try NPY.decode(Data(b), path: "x.npy"); Issue.record("decoded") } catch {
            #expect("\(error)".contains("x.npy") && "\(error)".contains("truncated"))
        }
        // One product overflows only in the middle: (2^40, 2^40, 0) holds zero values.
        let h2 = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(1 << 40), \(1 << 40), 0), }"
        var c = Array(h2.utf8); while (10 + c.count + 1) % 64 != 0 { c.append(0x20) }; c.append(0x0A)
        let d: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(c.count & 0xFF), UInt8(c.count >> 8)] + c
        #expect(throws: (any Error).self) { _ = try NPY.decode(Data(d)) }
    }
}
