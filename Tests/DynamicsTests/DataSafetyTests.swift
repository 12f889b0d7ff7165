import Dynamics
import Foundation
import Testing

private func csv(_ text: String) throws -> (String, String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tf-dyn-\(UUID())").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try text.write(toFile: dir + "/d.csv", atomically: true, encoding: .utf8)
    return (dir, dir + "/d.csv")
}

private func message(_ text: String) throws -> String {
    let (dir, path) = try csv(text)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    do { _ = try Dataset.csv(path: path); return "" } catch { return "\(error)" }
}

@Suite struct DataSafetyTests {
    /// One label 99999999999 used to ask for 3 TB (classes = max + 1); 100000 silently made
    /// 100001 classes. Labels are remapped to 0..<C in sorted order, with the map kept.
    @Test func sparseLabelsRemapped() throws {
        let (dir, path) = try csv("x,label\n0.5,3\n0.25,99999999999\n1,3\n2,100000\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = try Dataset.csv(path: path)
        #expect(d.classes == 3 && d.labels == [0, 2, 0, 1] && d.labelMap == [3, 100000, 99999999999])
        let (dir2, path2) = try csv("x,label\n0.5,0\n0.25,1\n")
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        #expect(try Dataset.csv(path: path2).labelMap == nil)
    }

    /// A header-less CSV used to eat its first row silently; 1e308 was called "not finite";
    /// blank lines shifted the line numbers.
    @Test func messagesSayWhatAndWhere() throws {
        #expect(try message("0.5,1\n0.25,0\n").contains("line 1 holds numbers"))
        let m = try message("x,label\n0.5,1\n\n1e308,0\n")
        #expect(m.contains("line 4") && m.contains("float32 range"), "\(m)")
        #expect(try message("x,label\nnan,0\n0,1\n").contains("not a finite number"))
        #expect(try message("x,label\n0,-1\n").contains("integer ≥ 0"))
        #expect(try message("x,label\n0,1\n1,1\n").contains("need at least two classes"))
    }

    /// Label-noise fractions beyond [0, 1] do not trap converting to a count.
    @Test func labelNoiseFractionsClamped() {
        let d = Dataset.synthetic(count: 20, dimension: 2, classes: 2)
        #expect(d.withLabelNoise(.infinity, seed: 1).count == 20)
        #expect(d.withLabelNoise(.nan, seed: 1).count == 20)
    }
}
