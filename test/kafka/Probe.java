// Probe is kafka.sh's helper, run with the Kafka client jars on the class
// path. It waits until the cluster answers metadata with the expected number
// of brokers and, when asked, creates the test ACLs for the gateway user.
//
//   java -cp 'libs/*:probe' Probe CLIENT_PROPERTIES BROKERS TIMEOUT_SECONDS [acls]
//
// Exit status: 0 ready, 1 timed out or failed (the last error is printed).
import java.io.FileInputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public final class Probe {
    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: Probe CLIENT_PROPERTIES BROKERS TIMEOUT_SECONDS [acls]");
            System.exit(2);
        }
        Properties props = new Properties();
        try (FileInputStream in = new FileInputStream(args[0])) {
            props.load(in);
        }
        int want = Integer.parseInt(args[1]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[2]));
        boolean acls = args.length > 3 && args[3].equals("acls");
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "3000");
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "5000");
        props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");

        String last = "no answer yet";
        try (Admin admin = Admin.create(props)) {
            while (true) {
                try {
                    DescribeClusterResult r = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000));
                    int n = r.nodes().get().size();
                    Node controller = r.controller().get();
                    if (n >= want) {
                        System.out.println("cluster " + r.clusterId().get() + ": " + n
                                + " brokers, controller " + (controller == null ? "none" : controller.id()));
                        break;
                    }
                    last = n + " of " + want + " brokers registered";
                } catch (Exception e) {
                    last = e.getCause() != null ? e.getCause().toString() : e.toString();
                }
                if (System.nanoTime() > deadline) {
                    System.err.println("cluster not ready: " + last);
                    System.exit(1);
                }
                Thread.sleep(300);
            }
            if (acls) {
                admin.createAcls(gatewayAcls()).all().get(30, TimeUnit.SECONDS);
                System.out.println("acls created for User:gateway");
            }
        }
    }

    // gatewayAcls lets User:gateway describe, create and write topics with the
    // prefixes hl7., fhir. and _gateway., and only describe forbidden.topic
    // (and its configuration).
    private static List<AclBinding> gatewayAcls() {
        List<AclBinding> out = new ArrayList<>();
        AclOperation[] ops = {AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.CREATE,
                AclOperation.DESCRIBE_CONFIGS};
        for (String prefix : new String[] {"hl7.", "fhir.", "_gateway."}) {
            ResourcePattern p = new ResourcePattern(ResourceType.TOPIC, prefix, PatternType.PREFIXED);
            for (AclOperation op : ops) {
                out.add(new AclBinding(p, new AccessControlEntry("User:gateway", "*", op, AclPermissionType.ALLOW)));
            }
        }
        ResourcePattern forbidden = new ResourcePattern(ResourceType.TOPIC, "forbidden.topic", PatternType.LITERAL);
        for (AclOperation op : new AclOperation[] {AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS}) {
            out.add(new AclBinding(forbidden, new AccessControlEntry("User:gateway", "*", op, AclPermissionType.ALLOW)));
        }
        return out;
    }
}
