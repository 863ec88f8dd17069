import DispatchTestSupport
import Foundation
import Testing
@testable import SettingsStore

/// What ingress syncs record for the dispatchers: beside the list, never moving its version.
@Suite struct IngressViewStoreTests {
    func view(_ ingress: String, _ state: String) -> IngressView {
        IngressView(ingress: ingress, updatedAt: "2026-12-05T07:00:00Z", inStep: state == "UP",
                    servers: [IngressView.Server(url: "http://127.0.0.1:9001", state: state, up: state == "UP")])
    }

    @Test("each ingress's last view is kept; the list's version and history do not move", arguments: TestStoreKind.testable)
    func viewsAreKeptBesideTheList(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.replaceFleet(with: try FleetList(validating: ["http://127.0.0.1:9001"]), actor: .cli)
            try await store.recordIngressView(view("ingress-1/voxcore", "DOWN"))
            try await store.recordIngressView(view("ingress-2/voxcore", "UP"))
            try await store.recordIngressView(view("ingress-1/voxcore", "UP"))
            let views = try await store.ingressViews()
            #expect(views == [view("ingress-1/voxcore", "UP"), view("ingress-2/voxcore", "UP")])
            let setting = try await store.fleet()
            #expect(setting.version == 1)
            #expect(try await store.history().count == 1)
            // Another connection sees them.
            let other = try await fixture.open()
            #expect(try await other.ingressViews().count == 2)
            await other.close()
            await store.close()
        }
    }

    @Test("a view this program did not write is skipped", arguments: TestStoreKind.testable)
    func unreadableViewsAreSkipped(kind: TestStoreKind) async throws {
        try await StoreFixture.with(kind) { fixture in
            let store = try await fixture.open()
            try await store.recordIngressView(view("ingress-1/voxcore", "UP"))
            try await fixture.execute("INSERT INTO \(fixture.settingsTable) (key, value, version, updated_at) VALUES ('voxbridge_ingress:x', 'not json', 1, 'now')")
            #expect(try await store.ingressViews().map(\.ingress) == ["ingress-1/voxcore"])
            await store.close()
        }
    }
}
