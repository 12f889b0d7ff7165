import Foundation
import Geometry
import Render
import Testing

private func temp(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("tf-cam-\(UUID())-\(name)").path
}

@Suite struct CameraFileTests {
    let views = ProtocolViews(mesh: Mesh.torus(segments: 16, rings: 8), seed: 3, width: 64, height: 48, train: 4, validation: 2, test: 3)

    private func same(_ a: [Camera], _ b: [Camera]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            x.width == y.width && x.height == y.height && x.fx == y.fx && x.fy == y.fy && x.cx == y.cx && x.cy == y.cy
                && zip(x.rotation, y.rotation).allSatisfy { abs($0 - $1) <= 1e-15 } && zip(x.center, y.center).allSatisfy { abs($0 - $1) <= 1e-15 }
        }
    }

    /// texfield's cameras.json and nerfstudio's transforms.json both give back the same cameras,
    /// splits included; the OpenGL pose looks along −z where the OpenCV one looks along +z.
    @Test func roundTripsBothConventions() throws {
        for (name, data) in [("cameras.json", try CameraFile.encodeOpenCV(views)), ("transforms.json", try CameraFile.encodeTransforms(views))] {
            let p = temp(name)
            defer { try? FileManager.default.removeItem(atPath: p) }
            try data.write(to: URL(fileURLWithPath: p))
            let back = try CameraFile.read(path: p)
            #expect(same(back.train, views.train) && same(back.validation, views.validation) && same(back.test, views.test), "\(name)")
        }
        let t = try JSONSerialization.jsonObject(with: CameraFile.encodeTransforms(views)) as! [String: Any]
        let frame = (t["frames"] as! [[String: Any]])[0]
        let m = frame["transform_matrix"] as! [[Double]]
        let c = views.train[0]
        // OpenGL's camera z axis (third column) is minus OpenCV's viewing direction.
        for r in 0..<3 { #expect(abs(m[r][2] + c.rotation[3 * r + 2]) < 1e-15 && abs(m[r][1] + c.rotation[3 * r + 1]) < 1e-15 && abs(m[r][0] - c.rotation[3 * r]) < 1e-15) }
        #expect(frame["split"] as? String == "train" && frame["fl_x"] as? Double == c.fx)
    }

    /// Frames without a split are split by test-every; camera_angle_x gives the focal length.
    @Test func splitsAndFieldOfView() throws {
        let p = temp("transforms.json")
        defer { try? FileManager.default.removeItem(atPath: p) }
        var frames = [[String: Any]]()
        for i in 0..<10 {
            let a = Double(i) * 0.6
            // OpenGL camera on a circle of radius 4 looking at the origin: z axis = outward direction.
            let z = [cos(a), 0, sin(a)], x = [sin(a), 0, -cos(a)], y = [0.0, 1, 0]
            frames.append(["file_path": "images/\(i).png",
                           "transform_matrix": [[x[0], y[0], z[0], 4 * z[0]], [x[1], y[1], z[1], 4 * z[1]], [x[2], y[2], z[2], 4 * z[2]], [0, 0, 0, 1]]])
        }
        let json: [String: Any] = ["camera_angle_x": 0.8, "w": 80, "h": 60, "frames": frames]
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: p))
        let v = try CameraFile.read(path: p, testEvery: 4)
        #expect(v.test.count == 3 && v.validation.count == 3 && v.train.count == 4)  // i % 4 == 0: 0, 4, 8; == 1: 1, 5, 9
        let c = v.train[0]
        #expect(abs(c.fx - 40 / tan(0.4)) < 1e-12 && c.cx == 40 && c.cy == 30)
        // The camera looks at the origin: the ray through the principal point points inward.
        let d = c.direction(u: c.cx, v: c.cy), o = SIMD3(c.center[0], c.center[1], c.center[2])
        #expect(abs((d * o).sum() / (o * o).sum().squareRoot() + 1) < 1e-12)
        let frames2 = try CameraFile.readFrames(path: p, testEvery: 4)
        #expect(frames2[2].filePath == (p as NSString).deletingLastPathComponent + "/images/2.png")
    }

    /// Scaled or mirrored poses, missing intrinsics, bad sizes and unknown splits are refused with
    /// the frame named.
    @Test func badFilesNameTheFrame() throws {
        let p = temp("bad.json")
        defer { try? FileManager.default.removeItem(atPath: p) }
        let good: [[Double]] = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]
        let scaled: [[Double]] = [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 4], [0, 0, 0, 1]]
        let mirrored: [[Double]] = [[-1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 4], [0, 0, 0, 1]]
        let cases: [([String: Any], String)] = [
            (["fl_x": 50, "w": 64, "h": 64, "frames": [["transform_matrix": good], ["transform_matrix": scaled]]], "frame 1"),
            (["fl_x": 50, "w": 64, "h": 64, "frames": [["transform_matrix": mirrored]]], "frame 0"),
            (["w": 64, "h": 64, "frames": [["transform_matrix": good]]], "focal length"),
            (["fl_x": 50, "w": 0, "h": 64, "frames": [["transform_matrix": good]]], "image size"),
            (["fl_x": 50, "w": 64, "h": 64, "frames": [["transform_matrix": good, "split": "holdout"]]], "holdout"),
            (["fl_x": -5, "w": 64, "h": 64, "frames": [["transform_matrix": good]]], "focal lengths"),
        ]
        for (json, needle) in cases {
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: p))
            #expect { _ = try CameraFile.read(path: p, testEvery: 1) } throws: { "\($0)".contains(needle) && "\($0)".contains(p) }
        }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: p))
        #expect(throws: CameraFile.Error.self) { _ = try CameraFile.read(path: p) }
        #expect(throws: CameraFile.Error.self) { _ = try CameraFile.read(path: p + ".missing") }
    }
}
