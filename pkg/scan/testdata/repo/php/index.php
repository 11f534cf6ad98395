<?php
# $env == "pre" in a comment
#[Attribute]
function pick($env) {
    if ($env == "pre") {}
    if ($env === 'online') {}
    if (in_array($env, ['sim', 'us1'])) {}
    switch ($env) { case "sg-prod": break; }
    $db = "10.1.2.3";
    $ok = 'online';
    return "https://api.partner.com/v1";
}
