//! Static geography and departments for the generated tenant.
//!
//! [`City`] carries what rows need about a place: country code, coordinates, a fixed UTC offset
//! (no daylight saving: the sample spans January and February), an ISP name and a non-routable
//! address block (RFC 2544 benchmark and RFC 5737 documentation ranges), so no generated address
//! belongs to a real network. [`Dept`] holds titles, SharePoint sites and the home-country mix.

/// A place users sign in from.
#[derive(Debug, PartialEq)]
pub struct City {
    pub name: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Hours east of UTC.
    pub utc_offset: i64,
    pub isp: &'static str,
    /// First three octets of the address block the city's addresses come from.
    pub net: [u8; 3],
    pub asn: u32,
}

macro_rules! city {
    (
        $n:expr, $s:expr, $c:expr, $lat:expr, $lon:expr, $off:expr, $isp:expr, $net:expr,
        $asn:expr
    ) => {
        City {
            name: $n,
            state: $s,
            country: $c,
            lat: $lat,
            lon: $lon,
            utc_offset: $off,
            isp: $isp,
            net: $net,
            asn: $asn,
        }
    };
}

pub static NEW_YORK: City = city!(
    "New York",
    "New York",
    "US",
    40.71,
    -74.01,
    -5,
    "Lakeside Cable",
    [198, 18, 10],
    64_601
);
pub static CHICAGO: City = city!(
    "Chicago",
    "Illinois",
    "US",
    41.88,
    -87.63,
    -6,
    "Lakeside Cable",
    [198, 18, 20],
    64_601
);
pub static SEATTLE: City = city!(
    "Seattle",
    "Washington",
    "US",
    47.61,
    -122.33,
    -8,
    "Cascade Fiber",
    [198, 18, 30],
    64_602
);
pub static AMSTERDAM: City = city!(
    "Amsterdam",
    "Noord-Holland",
    "NL",
    52.37,
    4.90,
    1,
    "Polder Net B.V.",
    [198, 19, 10],
    64_610
);
pub static ROTTERDAM: City = city!(
    "Rotterdam",
    "Zuid-Holland",
    "NL",
    51.92,
    4.48,
    1,
    "Polder Net B.V.",
    [198, 19, 20],
    64_610
);
pub static LONDON: City = city!(
    "London",
    "England",
    "GB",
    51.51,
    -0.13,
    0,
    "Thames Broadband Ltd",
    [198, 19, 130],
    64_620
);
pub static MANCHESTER: City = city!(
    "Manchester",
    "England",
    "GB",
    53.48,
    -2.24,
    0,
    "Pennine Telecom",
    [198, 19, 140],
    64_621
);

/// Destinations that no user lives in.
pub static SAO_PAULO: City = city!(
    "Sao Paulo",
    "Sao Paulo",
    "BR",
    -23.55,
    -46.63,
    -3,
    "Paulista Hosting",
    [203, 0, 113],
    64_700
);
pub static BUCHAREST: City = city!(
    "Bucharest",
    "Bucuresti",
    "RO",
    44.43,
    26.10,
    2,
    "Dacia VPS SRL",
    [192, 0, 2],
    64_701
);
pub static SINGAPORE: City = city!(
    "Singapore",
    "Singapore",
    "SG",
    1.35,
    103.82,
    8,
    "Lion City Mobile",
    [198, 51, 100],
    64_702
);
pub static BERLIN: City = city!(
    "Berlin",
    "Berlin",
    "DE",
    52.52,
    13.40,
    1,
    "Spree Hotel Wifi GmbH",
    [198, 19, 200],
    64_703
);
/// Great-circle distance in kilometres.
pub fn distance_km(a: &City, b: &City) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.lat.to_radians(),
        a.lon.to_radians(),
        b.lat.to_radians(),
        b.lon.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().asin()
}

/// Departments of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dept {
    Finance,
    Sales,
    Engineering,
    Hr,
    Legal,
    It,
    Marketing,
}

impl Dept {
    pub const ALL: [Dept; 7] = [
        Dept::Finance,
        Dept::Sales,
        Dept::Engineering,
        Dept::Hr,
        Dept::Legal,
        Dept::It,
        Dept::Marketing,
    ];

    /// Relative head count, in percent.
    pub fn weight(self) -> u32 {
        match self {
            Dept::Finance => 12,
            Dept::Sales => 22,
            Dept::Engineering => 25,
            Dept::Hr => 8,
            Dept::Legal => 6,
            Dept::It => 15,
            Dept::Marketing => 12,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Dept::Finance => "Finance",
            Dept::Sales => "Sales",
            Dept::Engineering => "Engineering",
            Dept::Hr => "HR",
            Dept::Legal => "Legal",
            Dept::It => "IT",
            Dept::Marketing => "Marketing",
        }
    }

    /// Job titles; the first is the department head's.
    pub fn titles(self) -> &'static [&'static str] {
        match self {
            Dept::Finance => &["Finance Director", "Financial Analyst", "Accountant"],
            Dept::Sales => &["Head of Sales", "Account Executive", "Sales Manager"],
            Dept::Engineering => &["VP Engineering", "Software Engineer", "Senior Engineer"],
            Dept::Hr => &["HR Director", "HR Business Partner", "Recruiter"],
            Dept::Legal => &["General Counsel", "Legal Counsel", "Paralegal"],
            Dept::It => &[
                "IT Manager",
                "Systems Administrator",
                "Service Desk Analyst",
            ],
            Dept::Marketing => &[
                "Marketing Director",
                "Content Strategist",
                "Campaign Manager",
            ],
        }
    }

    /// SharePoint sites members work on (path segment under `/sites/`).
    pub fn sites(self) -> &'static [&'static str] {
        match self {
            Dept::Finance => &["Finance-Team", "Finance-Reporting"],
            Dept::Sales => &["Sales-Team", "Sales-Proposals"],
            Dept::Engineering => &["Engineering-Docs", "Engineering-Releases"],
            Dept::Hr => &["HR-Team", "HR-Policies"],
            Dept::Legal => &["Legal-Contracts"],
            Dept::It => &["IT-Operations"],
            Dept::Marketing => &["Marketing-Campaigns", "Marketing-Brand"],
        }
    }

    /// Home cities, in the proportion users are placed in them.
    pub fn cities(self) -> &'static [&'static City] {
        static FINANCE: [&City; 3] = [&NEW_YORK, &NEW_YORK, &LONDON];
        static SALES: [&City; 4] = [&NEW_YORK, &CHICAGO, &LONDON, &AMSTERDAM];
        static ENGINEERING: [&City; 4] = [&AMSTERDAM, &ROTTERDAM, &SEATTLE, &AMSTERDAM];
        static HR: [&City; 3] = [&LONDON, &MANCHESTER, &NEW_YORK];
        static LEGAL: [&City; 2] = [&NEW_YORK, &CHICAGO];
        static IT: [&City; 3] = [&AMSTERDAM, &LONDON, &MANCHESTER];
        static MARKETING: [&City; 3] = [&NEW_YORK, &AMSTERDAM, &SEATTLE];
        match self {
            Dept::Finance => &FINANCE,
            Dept::Sales => &SALES,
            Dept::Engineering => &ENGINEERING,
            Dept::Hr => &HR,
            Dept::Legal => &LEGAL,
            Dept::It => &IT,
            Dept::Marketing => &MARKETING,
        }
    }

    /// Whether members use Azure Resource Manager day to day.
    pub fn uses_azure(self) -> bool {
        matches!(self, Dept::Engineering | Dept::It)
    }
}

/// The payroll site only a few Finance staff ever open.
pub const PAYROLL_SITE: &str = "Finance-Payroll";
/// A site everyone reads.
pub const INTRANET_SITE: &str = "Company-Intranet";

pub const GIVEN: [&str; 32] = [
    "Adele",
    "Alex",
    "Allan",
    "Diego",
    "Grady",
    "Henrietta",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Christie",
    "Debra",
    "Emily",
    "Irvin",
    "Kari",
    "Lena",
    "Nora",
    "Omar",
    "Priya",
    "Ravi",
    "Sanne",
    "Tomas",
    "Wouter",
    "Yuki",
    "Zara",
];

pub const SURNAMES: [&str; 32] = [
    "Vance",
    "Wilber",
    "Deyoung",
    "Siciliani",
    "Archie",
    "Mueller",
    "Langer",
    "Lauer",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Hunter",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Cline",
    "Berg",
    "Braun",
    "Sauer",
    "Jansen",
    "Visser",
    "Bakker",
    "Okafor",
    "Patel",
    "Rao",
    "De Vries",
    "Novak",
    "Smit",
    "Tanaka",
    "Khan",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_match_known_values() {
        let d = distance_km(&AMSTERDAM, &LONDON);
        assert!((350.0..370.0).contains(&d), "Amsterdam-London {d}");
        let d = distance_km(&NEW_YORK, &SINGAPORE);
        assert!((15_000.0..15_700.0).contains(&d), "New York-Singapore {d}");
    }

    #[test]
    fn weights_sum_to_hundred() {
        assert_eq!(Dept::ALL.iter().map(|d| d.weight()).sum::<u32>(), 100);
    }
}
