import Foundation
import Geometry
import Spectral
import Testing

/// The slicing's repair path (a slice that finds more eigenvalues below its shift than the
/// previous slice left for it re-covers the whole gap) cannot be reached on demand through the
/// API: it needs a slice that missed a pair above its unverified upper edge. The solver has a
/// test hook for it, read from the environment of the `texfield` process (so it never touches
/// the tests running beside in this process): TF_TEST_DROP_ABOVE=1 drops the largest pair above
/// the first such slice's shift, as if it had been missed.
@Suite struct EigsRepairTests {
    @Test func aMissedPairIsRepairedByTheNextSlice() throws {
        let dir0 = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        guard let binary = [dir0, dir0.deletingLastPathComponent()].map({ $0.appendingPathComponent("texfield").path })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            print("skipped: the texfield binary was not built beside the tests (swift build -c release first)")
            return
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-repair-\(UUID())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Mesh.icosphere(subdivisions: 20, jitter: 0.3, seed: 5).writeOBJ(path: dir + "/s.obj")  // 4002 vertices
        func eigs(_ out: String, drop: Bool, staged: Bool = false, k: Int = 300, dropFactor: Bool = false, compact: Bool = true, inside: Bool = true, spill: Bool = false, spillFailAt: Int? = nil, tmpdir: String? = nil, kernels: Bool = false) throws -> (values: [Double], vectors: [Double], summary: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["eigs", dir + "/s.obj", "-k", "\(k)", "--method", "slicing", "--no-cache", "--quiet", "--out", dir + "/" + out]
            var env = ProcessInfo.processInfo.environment
            env["TF_TEST_DROP_ABOVE"] = drop ? "1" : "0"
            env["TF_STAGED_OUTPUT"] = staged ? "1" : "0"
            env["TF_DROP_FACTOR"] = dropFactor ? "1" : "0"
            env["TF_COMPACT"] = compact ? "1" : "0"
            env["TF_INSIDE_SHIFT"] = inside ? "1" : "0"
            env["TF_SPILL"] = spill ? "1" : "0"
            env["TF_SPILL_FAIL_AT"] = spillFailAt.map { String($0) }
            env["TF_PROJECTION_KERNELS"] = kernels ? "1" : "0"
            if let tmpdir { env["TMPDIR"] = tmpdir }
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            #expect(p.terminationStatus == 0, "texfield eigs (drop: \(drop)) exited with \(p.terminationStatus)")
            let values = try NPY.read(path: dir + "/" + out + "/eigenvalues.npy").values
            let vectors = try NPY.read(path: dir + "/" + out + "/eigenvectors.npy").values
            let summary = try String(contentsOfFile: dir + "/" + out + "/summary.json", encoding: .utf8)
            return (values, vectors, summary)
        }
        let plain = try eigs("plain", drop: false)
        let repaired = try eigs("repaired", drop: true)
        #expect(plain.summary.contains("\"repairs\" : 0"))
        #expect(repaired.summary.contains("\"repairs\" : 1"), "the hook did not lead to a repair")
        #expect(plain.values.count == 300 && repaired.values.count == 300)
        for j in 1..<min(plain.values.count, repaired.values.count) {
            #expect(abs(plain.values[j] - repaired.values[j]) < 1e-10 * plain.values[j], "λ_\(j)")
        }
        // The same with the slices' vectors staged column-major (the output layout for k within
        // three bands and a large result; the hook forces it here): the repair rewinds the
        // staged columns as it rewinds the row-major ones, and the result is the same to the bit.
        let repairedStaged = try eigs("repaired-staged", drop: true, staged: true)
        #expect(repairedStaged.summary.contains("\"repairs\" : 1"))
        #expect(repairedStaged.values == repaired.values && repairedStaged.vectors == repaired.vectors)
        let plainStaged = try eigs("plain-staged", drop: false, staged: true, k: 64)
        let plain64 = try eigs("plain-64", drop: false, k: 64)
        #expect(plainStaged.values == plain64.values && plainStaged.vectors == plain64.vectors && plain64.vectors.count == 4002 * 64)
        // One slice takes all 64 pairs: its shift inside their range (the default) or just below
        // zero gives the same eigenvalues, both within the tolerance.
        let bottom64 = try eigs("bottom-64", drop: false, k: 64, inside: false)
        #expect(bottom64.values.count == 64 && plain64.values.count == 64)
        if bottom64.values.count == 64 && plain64.values.count == 64 {
            #expect(abs(plain64.values[0]) < 1e-9 * plain64.values[63] && abs(bottom64.values[0]) < 1e-9 * plain64.values[63])
            for j in 1..<64 {
                #expect(abs(plain64.values[j] - bottom64.values[j]) < 1e-10 * plain64.values[j], "λ_\(j)")
            }
        }
        func maxResidual(_ summary: String) -> Double? {
            guard let data = summary.data(using: .utf8),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return json["maxResidual"] as? Double
        }
        // The same for several slices: the first and the last shift inside their pairs (the
        // default) or the first just below zero and the last above the k-th pair.
        let bottom300 = try eigs("bottom-300", drop: false, inside: false)
        #expect(bottom300.values.count == 300)
        if bottom300.values.count == 300 && plain.values.count == 300 {
            for j in 1..<300 {
                #expect(abs(plain.values[j] - bottom300.values[j]) < 1e-10 * plain.values[j], "k = 300, λ_\(j)")
            }
        }
        for (name, run) in [("inside", plain64), ("bottom", bottom64), ("inside, k = 300", plain), ("bottom, k = 300", bottom300)] {
            let r = maxResidual(run.summary)
            #expect(r != nil && r! <= 1e-9, "k = 64, shift \(name): max residual \(String(describing: r))")
        }
        // The next slice's factor freed after its inertia is read and made again when that slice
        // solves (the default for factors of 64 MB or more; the hook forces it): the same bits,
        // also through a repair, with one more factorisation per slice after the first.
        let plainLean = try eigs("plain-lean", drop: false, dropFactor: true)
        #expect(plainLean.values == plain.values && plainLean.vectors == plain.vectors)
        let repairedLean = try eigs("repaired-lean", drop: true, dropFactor: true)
        #expect(repairedLean.values == repaired.values && repairedLean.vectors == repaired.vectors)
        // A slice's pairs extracted from the basis shrunk to them (the default) or from the whole
        // Krylov basis: the same bits, also through a repair.
        let plainWhole = try eigs("plain-whole", drop: false, compact: false)
        #expect(plainWhole.values == plain.values && plainWhole.vectors == plain.vectors)
        let repairedWhole = try eigs("repaired-whole", drop: true, compact: false)
        #expect(repairedWhole.values == repaired.values && repairedWhole.vectors == repaired.vectors)
        // The slices' vectors spilled to a temporary file (the default for a result of 64 MB or
        // more; the hook forces it) and made row-major at the end: the same bits, also through a
        // repair (which rewrites the last slice's columns in the file); when a write fails
        // midway (the hook fails column 150, after the first slices) the columns written so far
        // move to memory and the run goes on; when no file can be made in $TMPDIR the result is
        // held in memory from the start.
        let plainSpilled = try eigs("plain-spilled", drop: false, spill: true)
        #expect(plainSpilled.values == plain.values && plainSpilled.vectors == plain.vectors)
        let repairedSpilled = try eigs("repaired-spilled", drop: true, spill: true)
        #expect(repairedSpilled.summary.contains("\"repairs\" : 1"))
        #expect(repairedSpilled.values == repaired.values && repairedSpilled.vectors == repaired.vectors)
        let repairedSpillFails = try eigs("repaired-spill-fails", drop: true, spill: true, spillFailAt: 150)
        #expect(repairedSpillFails.values == repaired.values && repairedSpillFails.vectors == repaired.vectors)
        let noSpillDir = try eigs("no-spill-dir", drop: false, spill: true, tmpdir: dir + "/does-not-exist")
        #expect(noSpillDir.values == plain.values && noSpillDir.vectors == plain.vectors)
        let noSpillDirStaged = try eigs("no-spill-dir-staged", drop: false, staged: true, spill: true, tmpdir: dir + "/does-not-exist")
        #expect(noSpillDirStaged.values == plain.values && noSpillDirStaged.vectors == plain.vectors)
        // The block Lanczos projections through the AVX-512 kernels (the default for a basis of
        // 24 MB or more; the hook forces them on this small mesh) instead of OpenBLAS: the same
        // eigenvalues to rounding, also through a repair, and residuals within the tolerance.
        let plainKernels = try eigs("plain-kernels", drop: false, kernels: true)
        let repairedKernels = try eigs("repaired-kernels", drop: true, kernels: true)
        #expect(repairedKernels.summary.contains("\"repairs\" : 1"))
        for (name, run, ref) in [("plain", plainKernels, plain), ("repaired", repairedKernels, repaired)] {
            #expect(run.values.count == 300 && ref.values.count == 300)
            if run.values.count == 300 && ref.values.count == 300 {
                for j in 1..<300 {
                    #expect(abs(run.values[j] - ref.values[j]) < 1e-10 * ref.values[j], "kernels, \(name): λ_\(j)")
                }
            }
            let r = maxResidual(run.summary)
            #expect(r != nil && r! <= 1e-9, "kernels, \(name): max residual \(String(describing: r))")
        }
        func factorisations(_ summary: String) -> Int? {
            guard let r = summary.range(of: #""factorizations" : [0-9]+"#, options: .regularExpression) else { return nil }
            return Int(summary[r].split(separator: " ").last!)
        }
        if let a = factorisations(plain.summary), let b = factorisations(plainLean.summary) {
            #expect(b > a, "factorisations \(a) without, \(b) with the factor freed")
        } else {
            Issue.record("summary.json without a factorisation count")
        }
    }
}
