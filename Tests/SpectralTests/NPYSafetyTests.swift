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

    /// Found by the fuzzer (npy, AddressSanitizer: heap-buffer-overflow): a scalar (shape ())
    /// with no data bytes was read past the end of the buffer.
    @Test func scalarWithoutData() throws {
        let h = "{'descr': '<i4', 'fortran_order': False, 'shape': (), }" + String(repeating: " ", count: 64) + "\n"
        let b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8)
        #expect(throws: (any Error).self) { _ = try NPY.decode(Data(b)) }
        #expect(try NPY.decode(Data(b + [7, 0, 0, 0])).values == [7])
    }

    /// Found by the fuzzer (npy): a ')' before the '(' of the shape trapped forming a range.
    @Test func shapeParenthesesOutOfOrder() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape':3) 0(, , }" + String(repeating: " ", count: 60) + "\n"
        let b: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(h.utf8.count), 0] + Array(h.utf8)
        #expect(throws: (any Error).self) { _ = try NPY.decode(Data(b)) }
    }
}
