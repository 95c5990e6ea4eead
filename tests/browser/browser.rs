//! A small driver over fantoccini that finds things as a person does: by label, button text,
//! link text and heading.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: std::path::PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else {
        format!("concat('{}')", s.replace('\'', "', \"'\", '"))
    }
}

impl Browser {
    pub async fn start() -> Browser {
        Browser::start_with(&[]).await
    }

    /// A browser with extra chromium switches (e.g. a dark colour scheme).
    pub async fn start_with(extra_args: &[&str]) -> Browser {
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_bin} (apt-get install chromium-driver): {e}")
            });
        let profile = std::env::temp_dir().join(format!("mpanel-chrome-{}", mpanel::db::new_id()));
        let chrome = std::env::var("CHROME_BIN").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chrome,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ]
            }
        });
        if let Some(args) = caps["goog:chromeOptions"]["args"].as_array_mut() {
            args.extend(extra_args.iter().map(|a| serde_json::json!(a)));
        }
        let caps = match caps {
            serde_json::Value::Object(m) => m,
            _ => unreachable!(),
        };
        let url = format!("http://127.0.0.1:{port}");
        let mut last_err = String::new();
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        profile,
                    };
                }
                Err(e) => last_err = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("could not start a chromium session through chromedriver: {last_err}");
    }

    pub async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn wait_xpath(&self, xpath: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::XPath(xpath))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let src = self.client.source().await.unwrap_or_default();
                panic!("waited for {xpath}: {e}\n--- page ---\n{src}");
            }
        }
    }

    /// Waits until the page's main heading reads `text`.
    pub async fn expect_heading(&self, text: &str) {
        self.wait_xpath(&format!("//h1[normalize-space(.)={}]", xpath_literal(text)))
            .await;
    }

    /// Waits until some element's text contains `text`.
    pub async fn expect_text(&self, text: &str) {
        self.wait_xpath(&format!(
            "//*[contains(normalize-space(.), {})]",
            xpath_literal(text)
        ))
        .await;
    }

    /// Waits until no element's text contains `text` any more (a live region updating).
    pub async fn expect_gone(&self, text: &str) {
        let xpath = format!("//*[contains(normalize-space(.), {})]", xpath_literal(text));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.client.find(Locator::XPath(&xpath)).await.is_ok() {
            if std::time::Instant::now() > deadline {
                let src = self.client.source().await.unwrap_or_default();
                panic!("{text:?} still on the page after 10 s\n--- page ---\n{src}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The form control whose visible `<label>` reads `label`.
    pub async fn field(&self, label: &str) -> fantoccini::elements::Element {
        let l = self
            .wait_xpath(&format!(
                "//label[normalize-space(.)={}]",
                xpath_literal(label)
            ))
            .await;
        let id = l
            .attr("for")
            .await
            .unwrap()
            .expect("label has a for attribute");
        self.client.find(Locator::Id(&id)).await.unwrap()
    }

    pub async fn fill(&self, label: &str, value: &str) {
        let f = self.field(label).await;
        f.clear().await.unwrap();
        f.send_keys(value).await.unwrap();
    }

    pub async fn choose(&self, label: &str, option: &str) {
        self.field(label)
            .await
            .select_by_label(option)
            .await
            .unwrap();
    }

    pub async fn value_of(&self, label: &str) -> String {
        self.field(label)
            .await
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    pub async fn press(&self, button: &str) {
        self.wait_xpath(&format!(
            "//button[normalize-space(.)={}]",
            xpath_literal(button)
        ))
        .await
        .click()
        .await
        .unwrap();
    }

    pub async fn follow(&self, link: &str) {
        self.wait_xpath(&format!("//a[normalize-space(.)={}]", xpath_literal(link)))
            .await
            .click()
            .await
            .unwrap();
    }

    /// Saves a PNG of the page to `$MPANEL_SCREENSHOTS/<name>.png` when that is set (for
    /// looking at the UI); does nothing otherwise.
    pub async fn screenshot(&self, name: &str) {
        if let Ok(dir) = std::env::var("MPANEL_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(std::path::Path::new(&dir).join(format!("{name}.png")), png).unwrap();
        }
    }

    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }
}
