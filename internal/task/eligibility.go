package task

import (
	"math"
	"slices"
)

// Shop is what eligibility and the geofence need to know of a shop.
type Shop struct {
	ID     int64
	Region string
	Chain  string
	// Lat and Lon are nil when the shop's coordinates are unknown.
	Lat, Lon *float64
}

// RoleAllowed reports whether a participant of role may take t.
func (t Task) RoleAllowed(role string) bool {
	return len(t.Eligibility.Roles) == 0 || slices.Contains(t.Eligibility.Roles, role)
}

// ShopAllowed reports whether t may be done in shop.
func (t Task) ShopAllowed(s Shop) bool {
	e := t.Eligibility
	return (len(e.ShopIDs) == 0 || slices.Contains(e.ShopIDs, s.ID)) &&
		(len(e.Regions) == 0 || slices.Contains(e.Regions, s.Region)) &&
		(len(e.Chains) == 0 || slices.Contains(e.Chains, s.Chain))
}

// RestrictsShops reports whether t names shops, regions or chains.
func (t Task) RestrictsShops() bool {
	e := t.Eligibility
	return len(e.ShopIDs) > 0 || len(e.Regions) > 0 || len(e.Chains) > 0
}

// EarthRadiusMeters is the mean Earth radius (IUGG).
const EarthRadiusMeters = 6_371_008.8

// Distance returns the great-circle distance in metres between two points
// given in degrees (haversine formula; under 0.5 % error, which a geofence
// of tens of metres does not notice).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * EarthRadiusMeters * math.Asin(math.Sqrt(min(1, a)))
}

// ValidCoordinates reports whether lat and lon are finite degrees in range.
func ValidCoordinates(lat, lon float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lon) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180
}
