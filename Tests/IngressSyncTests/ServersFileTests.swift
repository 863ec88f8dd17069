import Testing
@testable import IngressSync

@Suite struct ServersFileTests {
    let text = """
        # the operator's comment
        backend voxcore
            balance leastconn
            option httpchk GET /health/fleet
            server mine 10.0.0.9:80 check
            server vb-127.0.0.1-9001 127.0.0.1:9001 check inter 1s # voxbridge-dispatch: http://127.0.0.1:9001
            server vb-__1-9002 [::1]:9002 check disabled # voxbridge-dispatch: http://[::1]:9002/x
        """

    @Test func managedLinesRoundTripAndTheOperatorsLinesStay() throws {
        let file = try ServersFile.parse(text, backend: "voxcore", path: "f")
        #expect(file.preamble.count == 5)
        #expect(file.managed == [
            ManagedServer(name: "vb-127.0.0.1-9001", url: "http://127.0.0.1:9001", address: "127.0.0.1", port: 9001, options: "check inter 1s", inService: true),
            ManagedServer(name: "vb-__1-9002", url: "http://[::1]:9002/x", address: "::1", port: 9002, options: "check", inService: false),
        ])
        let again = try ServersFile.parse(file.render(), backend: "voxcore", path: "f")
        #expect(again == file)
        #expect(file.render().contains("    server mine 10.0.0.9:80 check\n"))
    }

    @Test func theBackendMustBeTheFilesLastSection() {
        #expect(throws: IngressError.self) { try ServersFile.parse(text, backend: "other", path: "f") }
        #expect(throws: IngressError.self) { try ServersFile.parse(text + "\nfrontend x\n    bind :80\n", backend: "voxcore", path: "f") }
    }

    @Test func runtimeAnswersAreRead() throws {
        let state = """
            1
            # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
            3 voxcore 1 vb-a 127.0.0.1 2 8 1 1 3 15 3 4 6 0 0 0 - 19101 - 0 0 - - 0
            3 voxcore 2 vb-b 127.0.0.1 0 1 1 1 240 1 0 0 0 0 0 0 - 19102 - 0 0 - - 0
            """
        let stat = """
            # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,
            voxcore,vb-a,0,0,3,4,,9,0,0,,0,,0,0,0,0,DRAIN,1,1,0,0,0,3,0,,1,3,1,,9,,2,0,,1,L7OK,
            voxcore,vb-b,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,3,0,,1,3,2,,0,,2,0,,0,* L4CON,
            """
        let snapshot = try BackendSnapshot.parse(serversState: state, stat: stat)
        #expect(snapshot.servers["vb-a"]?.sessions == 3)
        #expect(snapshot.servers["vb-a"]?.state == "DRAIN")
        #expect(snapshot.servers["vb-a"]?.checkPassed == true)
        #expect(snapshot.servers["vb-b"]?.state == "MAINT")
        #expect(snapshot.servers["vb-b"]?.port == 19102)
        #expect(throws: IngressError.self) { try BackendSnapshot.parse(serversState: "Can't find backend.\n", stat: "") }
    }
}
