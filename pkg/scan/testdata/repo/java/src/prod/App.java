package demo;

import java.util.Arrays;

public class App {
    // region.equals("sg-prod") in a comment
    /** Javadoc: if ("online".equals(env)) */
    public String pick(String env) {
        if (env.equals("online")) { return "a"; }
        if ("pre".equalsIgnoreCase(env)) { return "b"; }
        if (Arrays.asList("sim", "us1").contains(env)) { return "c"; }
        switch (env) {
            case "us1": return "d";
            case "sg-prod" -> log("arrow");
        }
        String url = "jdbc:mysql://10.1.2.3:3306/app?useSSL=false";
        String label = "online";
        char q = '"';
        return "http://localhost:8080" + label + q;
    }
}
