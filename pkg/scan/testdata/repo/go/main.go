package main

import (
	"fmt"
	"os"
	"strings"
)

// if region == "sg-prod" in a comment is ignored
/* case "us1": so is this */

func main() {
	region := os.Getenv("REGION")
	if region == "sg-prod" {
		fmt.Println("sg")
	}
	if "US1" != region {
	}
	switch region {
	case "online", "pre":
	}
	if strings.EqualFold(region, "sim") {
	}
	fmt.Println("sg-prod") // printed, not compared
	db := "10.1.2.3:3306"
	cache := "redis.sg.internal"
	api := `http://pay.sg.internal:8080/v1`
	other := "http://10.9.8.7/api"
	local, any := "127.0.0.1", "0.0.0.0:8080"
	ver := "1.2.3"
	appVersion := "2.0.1.4"
	schema := "http://www.w3.org/2001/XMLSchema"
	ex := "https://api.example.com/x"
	dsn := "mysql://app:s3cret@db.corp.com:3306/app"
	v6 := "2001:db8::1"
	cls, mail := "java.net.URL", "ops@company.com"
	fmt.Println(db, cache, api, other, local, any, ver, appVersion, schema, ex, dsn, v6, cls, mail)
	fmt.Printf("http://%s:%d/\n", "h", 1) // 东京 "sg-prod" in a comment after non-ASCII
	if "区域" != "" && region == "sg-prod" {
		fmt.Println("columns count characters, not bytes")
	}
}
